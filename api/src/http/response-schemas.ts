/**
 * What each route answers, as zod schemas: the route registry (route-registry.ts) puts them in the
 * OpenAPI description, and the end-to-end test validates the answers of real processes against
 * them, so a route cannot drift from its description unnoticed. Objects are strict: a field the
 * description does not name fails the test. Free-form data (metadata, job results) stays open.
 */
import { z } from 'zod';
import { Heartbeat } from '../../../shared/src/heartbeats.js';
import { QUEUE_NAMES } from '../../../shared/src/jobs/queue-table.js';

const isoTime = z.string().describe('ISO 8601 time');
const count = z.number().int().nonnegative();
const freeForm = z.record(z.string(), z.unknown());

export const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z
      .string()
      .describe(
        'stable snake_case code: validation_failed, not_found, unauthorized, forbidden, payload_too_large, unsupported_media_type, rate_limited, conflict, upstream_unavailable, search_timeout, internal_error',
      ),
    message: z.string(),
    details: z.unknown().optional().describe('for validation_failed: [{path, rule, message}] per problem'),
  }),
});

export const JobRefBody = z.strictObject({ queue: z.enum(QUEUE_NAMES), id: z.string() });
export const DocumentStatus = z.enum(['pending', 'indexing', 'ready', 'failed']);

export const Health = z.strictObject({ status: z.literal('ok') });
export const Readiness = z.strictObject({
  status: z.enum(['ready', 'unavailable']),
  checks: z.strictObject({ redis: z.string(), database: z.string() }).describe('"ok" or why the check failed'),
});
export const ServiceStatus = z.strictObject({
  workers: z.array(Heartbeat.extend({ lastSeen: isoTime })),
  queues: z.array(
    z.strictObject({
      name: z.enum(QUEUE_NAMES),
      waiting: count,
      active: count,
      succeeded: count,
      failed: count,
      delayed: count,
      newestJob: count.describe('the highest job id Bee-Queue has generated; 0 when none'),
    }),
  ),
  documents: z.strictObject({ pending: count, indexing: count, ready: count, failed: count }),
  latestSeq: count,
});

/** With ?wait=true: how far a write got (http/write-wait.ts). */
const writeProgress = {
  state: z
    .enum(['pending', 'committed', 'searchable', 'failed', 'superseded'])
    .optional()
    .describe(
      'with wait=true: pending (job not ended), committed (stored; a live worker has not applied it yet), searchable (through every live worker), failed, superseded (a newer revision was posted first)',
    ),
  seq: count.nullable().optional().describe("with wait=true: the change's vector_log seq once committed (POST /search minSeq)"),
  jobError: z.strictObject({ code: z.string(), message: z.string() }).optional().describe('state failed: why'),
};
export const DocumentAccepted = z.strictObject({
  document: z.strictObject({ id: z.string(), status: DocumentStatus, revision: z.number().int().positive() }),
  job: JobRefBody,
  ...writeProgress,
});
export const DocumentBatchAccepted = z.strictObject({
  documents: z
    .array(z.strictObject({ id: z.string(), revision: z.number().int().positive(), status: DocumentStatus, job: JobRefBody, ...writeProgress }))
    .describe('one per item, in the order sent'),
});
export const RemovalAccepted = z.strictObject({ job: JobRefBody, ...writeProgress });
export const DocumentCount = z.strictObject({ count });
export const DocumentChunks = z.strictObject({
  documentId: z.string(),
  revision: z.number().int().positive(),
  chunks: z.array(
    z.strictObject({
      id: z.number().int().positive().describe('the chunk id (chunkId in search results)'),
      ordinal: count,
      text: z.string(),
      start: count.nullable().describe('text.slice(start, end) of the document text is the chunk; null for chunks stored before spans were kept'),
      end: count.nullable(),
    }),
  ),
  nextAfter: count.nullable().describe('pass as after for the next page; null on the last (and with around)'),
});
export const DocumentView = z.strictObject({
  id: z.string(),
  title: z.string().nullable(),
  metadata: freeForm.describe('as given; uploads add source: {fileName, contentType, bytes, pages?}'),
  status: DocumentStatus,
  error: z.string().nullable().describe('why the document failed'),
  chunkCount: count,
  revision: z.number().int().positive(),
  contentHash: z.string().describe('SHA-256 (hex) of the stored text'),
  fileHash: z.string().nullable().describe('SHA-256 (hex) of the uploaded file the text came from; null for JSON text'),
  indexedHash: z.string().nullable(),
  seq: count.nullable().describe('the vector_log seq from which its indexed chunks are searchable (POST /search minSeq); null before its first ingest'),
  requestId: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});
export const DocumentPage = z.strictObject({
  documents: z.array(DocumentView),
  nextCursor: z.string().nullable().describe('pass as cursor for the next page; null on the last'),
});
export const DocumentHashPage = z.strictObject({
  documents: z.array(
    z.strictObject({
      id: z.string(),
      revision: z.number().int().positive(),
      status: DocumentStatus,
      contentHash: z.string().describe('SHA-256 (hex) of the stored text'),
      fileHash: z.string().nullable().describe('SHA-256 (hex) of the uploaded file; null for JSON text'),
    }),
  ),
  nextCursor: z.string().nullable().describe('pass as cursor for the next page; null on the last'),
});
export const JobAccepted = z.strictObject({ job: JobRefBody });
export const JobRetried = z.strictObject({ job: JobRefBody, status: z.literal('waiting') });

export const SearchResponse = z.strictObject({
  results: z.array(
    z.strictObject({
      documentId: z.string(),
      chunkId: z.number().int(),
      text: z.string(),
      score: z.number().describe('hybrid: fused reciprocal-rank score / its maximum, in (0, 1]; vector: vectorScore; lexical: lexicalScore'),
      vectorScore: z.number().nullable().describe('cosine similarity; null when the vector side did not return the chunk'),
      lexicalScore: z.number().nullable().describe('word-match relevance, higher is better (SQLite -bm25, Postgres ts_rank_cd); null when absent'),
      vectorRank: z.number().int().positive().nullable().describe('1-based rank on the vector side; null when absent'),
      lexicalRank: z.number().int().positive().nullable().describe('1-based rank on the lexical side; null when absent'),
      title: z.string().nullable(),
      metadata: freeForm,
    }),
  ),
  seq: count.describe('the vector_log seq the answering index had applied'),
});

export const JobView = z.strictObject({
  id: z.string(),
  queue: z.enum(QUEUE_NAMES),
  status: z.enum(['waiting', 'active', 'retrying', 'succeeded', 'failed', 'cancelled']),
  progress: z.number().min(0).max(100).describe('percent'),
  progressDetail: z.strictObject({ done: count, total: count }).optional(),
  attempts: count,
  result: z
    .unknown()
    .optional()
    .describe(
      'ingest: {documentId, revision, status, chunks, removedChunks, seq?}; ingest-batch: {documents: [{documentId, revision, status (ready, superseded, unchanged, failed, requeued), chunks, seq?, error?, job?}]}, requeued naming in job the ingest job the document was handed to (a batch retried after an unfinished attempt); remove: {documents, chunks, dryRun, seq?}; seq: the change is searchable from this vector_log seq',
    ),
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
});

export const ChatSession = z.strictObject({ id: z.string(), title: z.string().nullable(), createdAt: isoTime });
export const ChatMessage = z.strictObject({
  id: z.number().int().positive(),
  sessionId: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  metadata: freeForm.describe(
    'assistant: type analysis_result (sources, citations {valid, invalid}, jobId, answerer, model, grounded, retrievalQuery, timings) or analysis_error (error)',
  ),
  replyTo: z.number().int().positive().nullable(),
  createdAt: isoTime,
});
export const AnswerSources = z.strictObject({
  messageId: z.number().int().positive().describe('the answer'),
  sessionId: z.string(),
  replyTo: z.number().int().positive().nullable().describe('the question'),
  createdAt: isoTime,
  citations: z
    .strictObject({ valid: z.array(z.number().int()), invalid: z.array(z.number().int()) })
    .nullable()
    .describe('the [n] of the answer that name a source it was given (valid) and those that name none (invalid); null for an answer without a check'),
  sources: z.array(
    z.strictObject({
      n: z.number().int().positive().describe('the answer cites it as [n]'),
      documentId: z.string(),
      revision: z
        .number()
        .int()
        .positive()
        .nullable()
        .describe('the document revision the chunk was cut from; null for chunks stored before revisions were recorded'),
      currentRevision: z.number().int().positive().nullable().describe('the document revision now; null when the document was removed'),
      chunkId: z.number().int(),
      ordinal: z
        .number()
        .int()
        .nonnegative()
        .nullable()
        .describe('the chunk position in that revision; null when it was replaced before the answer was stored'),
      span: z
        .strictObject({ start: count, end: count })
        .nullable()
        .describe("[start, end) of the chunk in that revision's text, in UTF-16 code units; null for chunks stored before spans were recorded"),
      score: z.number(),
      vectorScore: z.number().nullable(),
      title: z.string().nullable(),
      quote: z.string().describe('the chunk text as it was when the answer was made, at most MAX_SOURCE_QUOTE_CHARS'),
      quoteChars: count.describe("length of the chunk's whole text: more than the quote's when it was cut"),
    }),
  ),
});
export const QuestionAccepted = z.strictObject({ message: ChatMessage, job: JobRefBody });
export const MessagesPage = z.strictObject({ messages: z.array(ChatMessage), hasMore: z.boolean() });
export const AnswerCancelled = z.discriminatedUnion('status', [
  z.strictObject({ job: JobRefBody, status: z.literal('cancelling') }),
  z.strictObject({ job: JobRefBody, status: z.literal('cancelled'), message: ChatMessage }),
]);

/** Bodies that are not JSON: described by media type, checked by the e2e test as text. */
export const TextBody = z.string();

export const CollectionView = z.strictObject({
  id: z.string(),
  title: z.string().nullable(),
  embedder: z.string().describe("the embedder spec of the collection's current generation: builtin, builtin:<dimension> or ollama:<model>"),
  generation: z.number().int().positive().describe('the current generation of its vectors (each reindex makes the next)'),
  buildingGeneration: z.number().int().positive().nullable().describe('the generation a running reindex is building, or null'),
  metadata: freeForm,
  status: z.enum(['active', 'deleting']).describe('deleting: a drop-collection job is under way; its routes answer 404'),
  createdAt: isoTime,
});
export const ReindexAccepted = z.strictObject({
  job: JobRefBody,
  collection: z.string(),
  generation: z.number().int().positive().describe('the generation being built'),
  embedder: z.string().describe('its embedder spec'),
});
export const CollectionList = z.strictObject({ collections: z.array(CollectionView) });
export const CollectionDetail = CollectionView.extend({
  documents: count,
  chunks: count,
  sessions: count.describe('chat sessions'),
  fingerprint: z.string().nullable().describe('the embedder id recorded for the current generation (model digest, dimension); null until a worker served it'),
  workers: z
    .array(
      z.strictObject({
        id: z.string(),
        size: count.describe("live chunks in this worker's index of the collection"),
        appliedSeq: count,
        checkpointSeq: count,
        lastSyncMs: z.number(),
        generation: z.number().int().positive().optional().describe('the generation this worker serves'),
        embedder: z.string().optional().describe("the generation's fingerprint in this worker, or its spec while none is recorded"),
        status: z.string().optional().describe('ready, or degraded: <reason> (its embedder is unavailable: searches answer 503, ingests retry)'),
        payloadFields: z
          .array(z.string())
          .optional()
          .describe('the declared metadata fields (POST /collections/{collection}/indexes) this worker answers filters on'),
        lastSeen: isoTime,
      }),
    )
    .describe('every live worker holding an index of the collection (from the heartbeats)'),
});
export const SessionList = z.strictObject({ sessions: z.array(ChatSession) });
export const SessionDeleted = z.strictObject({ id: z.string(), messages: count.describe('messages deleted with it') });

export const ApiKeyView = z.strictObject({
  id: z.string().describe("the key's name in logs and in DELETE /keys/{id}; not a secret"),
  name: z.string(),
  role: z.enum(['read', 'write', 'admin']),
  collections: z.array(z.string()).describe('["*"]: every collection, those created later too; else collection ids'),
  createdAt: isoTime,
  revokedAt: isoTime.nullable(),
  lastUsedAt: isoTime.nullable().describe('to the minute'),
});
export const ApiKeyCreated = z.strictObject({
  key: ApiKeyView,
  secret: z.string().describe('the API key: shown this once, only its SHA-256 is stored'),
});
export const ApiKeyList = z.strictObject({ keys: z.array(ApiKeyView) });

export const JobList = z.strictObject({
  jobs: z.array(
    z.strictObject({
      id: z.string(),
      queue: z.enum(QUEUE_NAMES),
      collection: z.string(),
      status: z
        .enum(['pending', 'active', 'succeeded', 'failed', 'cancelled'])
        .describe("pending: acknowledged, not attempted yet; active: attempted, not ended (GET /jobs/{queue}/{id} has Redis's live detail)"),
      attempts: count,
      result: z.unknown().optional(),
      error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
      updatedAt: isoTime,
    }),
  ),
});
