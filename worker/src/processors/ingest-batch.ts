/**
 * Ingests the documents of one batch (shared/src/jobs/ingest-batch.ts): each revision is chunked,
 * all chunks are embedded together, and every document's chunks replace its old ones in one
 * transaction with the job's outcome, then the index syncs once and the commit is announced once.
 * A document removed or posted again meanwhile is superseded; one with too many chunks ends failed
 * alone. Running it twice leaves one set of chunks per document, as ingest does. The commit is
 * fenced on the collection's generations as ingest's is (fenced-commit.ts). A later attempt of a
 * batch of several documents ingests none of them: it splits the batch into one ingest job each.
 */
import type { Knex } from 'knex';
import type { BatchItemResult, IngestBatchJob, IngestBatchResult } from '../../../shared/src/jobs/ingest-batch.js';
import { ingestJobOf } from '../../../shared/src/jobs/ingest.js';
import { replaceChunksOfDocuments, type NewChunk } from '../../../shared/src/db/chunks-repo.js';
import { claimRevisionsForIndexing, markDocumentFailed, type ClaimedRevision } from '../../../shared/src/db/documents-repo.js';
import { logWriteTransaction } from '../../../shared/src/db/write-transaction.js';
import { serializeError } from '../../../shared/src/logger.js';
import { enqueueAccepted, recordAcceptedJobs } from '../../../shared/src/queue/accept-job.js';
import { abortOnTestMarker } from '../abort-on-test-marker.js';
import { chunkSpans, type TextSpan } from '../chunk-text.js';
import type { Services } from '../services.js';
import { commitFenced, withSpans, type FencedGenerations } from './fenced-commit.js';
import type { JobContext } from './job-context.js';

type BatchServices = Pick<Services, 'config' | 'db' | 'embedders' | 'indexes' | 'commits' | 'queues'>;

type Prepared =
  | { kind: 'skip'; result: BatchItemResult }
  | { kind: 'tooLarge'; result: BatchItemResult }
  | { kind: 'chunked'; documentId: string; revision: number; contentHash: string; texts: string[]; spans: TextSpan[] };

export async function processIngestBatch(s: BatchServices, job: IngestBatchJob, context: JobContext<IngestBatchResult>): Promise<IngestBatchResult> {
  if (context.attempt > 1 && job.documents.length > 1) return splitIntoIngestJobs(s, job, context);
  const { logger, reportProgress, saveOutcome } = context;
  const { collection } = job;
  const claimed = await claimRevisionsForIndexing(s.db, collection, job.documents); // one write for the batch, not one per document
  const prepared = job.documents.map((ref) => prepareDocument(s, ref, claimed.get(ref.documentId)));
  const texts = prepared.flatMap((p) => (p.kind === 'chunked' ? p.texts : []));
  const onProgress = (embedded: number) => reportProgress({ done: embedded, total: texts.length });
  const gone = { documents: job.documents.map((ref): BatchItemResult => ({ ...ref, status: 'superseded', chunks: 0 })) };
  const result = await commitFenced(s, { collection, texts, logger, onProgress, gone }, (generations, chunks) =>
    logWriteTransaction(s.db, async (trx) => {
      const documents = await commitPrepared(trx, collection, prepared, generations, chunks);
      await saveOutcome(trx, { documents });
      return { documents };
    }),
  );
  const index = await s.indexes.synced(collection);
  await s.commits.announce(collection, index.seq);
  const ready = result.documents.filter((d) => d.status === 'ready').length;
  logger.info('document batch ingested', { collection, documents: result.documents.length, ready });
  return result;
}

/**
 * The batch's earlier attempt did not finish: the worker may have died on one of its documents (a
 * native crash, an out-of-memory kill), and trying the whole batch again would fail every document
 * with it. Each document gets its own ingest job instead, so such a document fails alone after its
 * own attempts and the others end ready; a revision superseded meanwhile is its ingest job's to see.
 * The jobs' pending records and this batch's outcome (each document requeued, naming its job) commit
 * in one transaction, then the jobs are enqueued.
 */
async function splitIntoIngestJobs(
  s: BatchServices,
  job: IngestBatchJob,
  { logger, attempt, saveOutcome }: JobContext<IngestBatchResult>,
): Promise<IngestBatchResult> {
  const { collection, requestId } = job;
  const split = job.documents.map((ref) => {
    const ingest = ingestJobOf(collection, ref, requestId);
    const item: BatchItemResult = { ...ref, status: 'requeued', chunks: 0, job: { queue: 'ingest', id: ingest.jobId } };
    return { ...ingest, item };
  });
  const result: IngestBatchResult = { documents: split.map((d) => d.item) };
  await s.db.transaction(async (trx) => {
    await recordAcceptedJobs(trx, s.queues.ingest, split);
    await saveOutcome(trx, result);
  });
  try {
    await enqueueAccepted(s.queues.ingest, s.config, split);
  } catch (err) {
    // The jobs' records are committed, so the sweep (sweeper.ts) enqueues those Redis did not take;
    // failing this attempt would not help: the batch has ended, and a new delivery is not run again.
    logger.warn('ingest jobs of the split batch not enqueued; the sweep enqueues them', { err: serializeError(err) });
  }
  logger.info('batch split into one job per document', { collection, documents: split.length, attempt });
  return result;
}

/** Chunks one claimed revision; superseded when it was not claimed (gone or changed), failed when it has too many chunks. */
function prepareDocument(s: BatchServices, ref: { documentId: string; revision: number }, doc: ClaimedRevision | undefined): Prepared {
  if (!doc || doc.revision !== ref.revision) return { kind: 'skip', result: { ...ref, status: 'superseded', chunks: 0 } };
  abortOnTestMarker(s.config.COLMEIA_TEST_ABORT_MARKER, doc.content); // tests only (poison job); inert unless set
  const spans = chunkSpans(doc.content, { size: s.config.CHUNK_SIZE, overlap: s.config.CHUNK_OVERLAP });
  if (spans.length > s.config.MAX_CHUNKS_PER_DOCUMENT) {
    const error = `document has ${spans.length} chunks, more than MAX_CHUNKS_PER_DOCUMENT (${s.config.MAX_CHUNKS_PER_DOCUMENT})`;
    return { kind: 'tooLarge', result: { ...ref, status: 'failed', chunks: 0, error } };
  }
  const texts = spans.map((span) => doc.content.slice(span.start, span.end));
  return { kind: 'chunked', ...ref, contentHash: doc.contentHash, texts, spans };
}

/** The prepared documents' chunks (and staged vectors) committed in `trx` in one replaceChunksOfDocuments; the item results in order. */
async function commitPrepared(
  trx: Knex,
  collection: string,
  prepared: readonly Prepared[],
  generations: FencedGenerations,
  chunks: readonly NewChunk[],
): Promise<BatchItemResult[]> {
  const documents: Array<{ documentId: string; revision: number; contentHash: string; chunks: NewChunk[] }> = [];
  let next = 0;
  for (const p of prepared) {
    if (p.kind === 'tooLarge') await markDocumentFailed(trx, p.result.documentId, p.result.revision, p.result.error ?? 'too many chunks', collection);
    if (p.kind !== 'chunked') continue;
    const own = withSpans(chunks.slice(next, next + p.texts.length), p.spans);
    next += p.texts.length;
    documents.push({ documentId: p.documentId, revision: p.revision, contentHash: p.contentHash, chunks: own });
  }
  // the staged embeddings follow the chunks in the same order: those of every chunked document, in turn
  const outcomes = await replaceChunksOfDocuments(trx, { collection, generation: generations.generation, staged: generations.staged, documents });
  let at = 0;
  return prepared.map((p): BatchItemResult => {
    if (p.kind !== 'chunked') return p.result;
    const outcome = outcomes[at++];
    const base = { documentId: p.documentId, revision: p.revision };
    return outcome?.status === 'replaced'
      ? { ...base, status: 'ready', chunks: outcome.chunks, seq: outcome.seq }
      : { ...base, status: 'superseded', chunks: 0 };
  });
}
