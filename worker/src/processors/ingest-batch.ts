/**
 * Ingests the documents of one batch (shared/src/jobs/ingest-batch.ts): each revision is chunked,
 * all chunks are embedded together, and every document's chunks replace its old ones in one
 * transaction with the job's outcome, then the index syncs once and the commit is announced once.
 * A document removed or posted again meanwhile is superseded; one with too many chunks ends failed
 * alone. Running it twice leaves one set of chunks per document, as ingest does. The commit is
 * fenced on the collection's generations as ingest's is (fenced-commit.ts).
 */
import type { Knex } from 'knex';
import type { BatchItemResult, IngestBatchJob, IngestBatchResult } from '../../../shared/src/jobs/ingest-batch.js';
import { replaceChunksOfDocuments, type NewChunk } from '../../../shared/src/db/chunks-repo.js';
import { claimRevisionsForIndexing, markDocumentFailed, type ClaimedRevision } from '../../../shared/src/db/documents-repo.js';
import { logWriteTransaction } from '../../../shared/src/db/write-transaction.js';
import { chunkSpans, type TextSpan } from '../chunk-text.js';
import type { Services } from '../services.js';
import { commitFenced, withSpans, type FencedGenerations } from './fenced-commit.js';
import type { JobContext } from './job-context.js';

type BatchServices = Pick<Services, 'config' | 'db' | 'embedders' | 'indexes' | 'commits'>;

type Prepared =
  | { kind: 'skip'; result: BatchItemResult }
  | { kind: 'tooLarge'; result: BatchItemResult }
  | { kind: 'chunked'; documentId: string; revision: number; contentHash: string; texts: string[]; spans: TextSpan[] };

export async function processIngestBatch(
  s: BatchServices,
  job: IngestBatchJob,
  { logger, reportProgress, saveOutcome }: JobContext<IngestBatchResult>,
): Promise<IngestBatchResult> {
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

/** Chunks one claimed revision; superseded when it was not claimed (gone or changed), failed when it has too many chunks. */
function prepareDocument(s: BatchServices, ref: { documentId: string; revision: number }, doc: ClaimedRevision | undefined): Prepared {
  if (!doc || doc.revision !== ref.revision) return { kind: 'skip', result: { ...ref, status: 'superseded', chunks: 0 } };
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
