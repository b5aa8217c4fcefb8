/**
 * Ingests one revision of one document: chunk, embed in batches (reporting progress), then replace
 * the document's chunks and log the changes in one transaction, then sync the index. Running it
 * twice, or two attempts at once, leaves exactly one set of chunks: the last commit replaces the rest.
 * A document with too many chunks fails for good (the queue's give-up handler marks it failed).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { IngestJob, IngestResult } from '../../../shared/src/jobs/ingest.js';
import { UnrecoverableJobError } from '../../../shared/src/errors.js';
import { findDocument, findDocumentContent, markDocumentIndexing } from '../../../shared/src/db/documents-repo.js';
import { EmbedderSwitchedError, refreshDocumentChunks, replaceDocumentChunks, type NewChunk } from '../../../shared/src/db/chunks-repo.js';
import { chunkSpans, type TextSpan } from '../chunk-text.js';
import { abortOnTestMarker } from '../abort-on-test-marker.js';
import type { Services } from '../services.js';
import type { JobContext } from './job-context.js';

type IngestServices = Pick<Services, 'config' | 'db' | 'embedder' | 'indexes' | 'commits'>;

export async function processIngest(
  s: IngestServices,
  job: IngestJob,
  { logger, reportProgress, saveOutcome }: JobContext<IngestResult>,
): Promise<IngestResult> {
  const superseded: IngestResult = { documentId: job.documentId, revision: job.revision, status: 'superseded', chunks: 0, removedChunks: 0 };
  const { collection } = job;
  if (!(await markDocumentIndexing(s.db, job.documentId, job.revision, collection))) return superseded; // removed, re-posted or already done
  const doc = await findDocument(s.db, job.documentId, collection);
  const content = await findDocumentContent(s.db, job.documentId, collection);
  if (!doc || content === undefined || doc.revision !== job.revision) return superseded;
  abortOnTestMarker(s.config.COLMEIA_TEST_ABORT_MARKER, content); // tests only (poison job); inert unless set

  if (doc.indexedHash === doc.contentHash && doc.chunkCount > 0) {
    const outcome = await refreshDocumentChunks(s.db, { collection, documentId: doc.id, revision: doc.revision });
    if (outcome.status === 'superseded') return superseded;
    logger.info('document unchanged, metadata refreshed', { documentId: doc.id, chunks: outcome.chunks });
    return { ...superseded, status: 'unchanged', chunks: outcome.chunks, seq: outcome.seq };
  }

  const spans = chunkSpans(content, { size: s.config.CHUNK_SIZE, overlap: s.config.CHUNK_OVERLAP });
  const texts = spans.map((span) => content.slice(span.start, span.end));
  if (texts.length > s.config.MAX_CHUNKS_PER_DOCUMENT) {
    throw new UnrecoverableJobError(
      'too_many_chunks',
      `document has ${texts.length} chunks, more than MAX_CHUNKS_PER_DOCUMENT (${s.config.MAX_CHUNKS_PER_DOCUMENT})`,
    );
  }
  reportProgress({ done: 0, total: texts.length });
  const chunks = await embedChunks(s, texts, spans, (embedded) => reportProgress({ done: embedded, total: texts.length }));
  const ready = (replaced: { chunks: number; removed: number; seq: number }): IngestResult => ({
    documentId: doc.id,
    revision: doc.revision,
    status: 'ready',
    chunks: replaced.chunks,
    removedChunks: replaced.removed,
    seq: replaced.seq,
  });
  const input = { collection, documentId: doc.id, revision: doc.revision, contentHash: doc.contentHash, embedder: s.embedder.id, chunks };
  const outcome = await replaceDocumentChunks(s.db, input, (trx, replaced) => saveOutcome(trx, ready(replaced))).catch(async (err: unknown) => {
    // A reindex switched the embedder meanwhile: syncing meets its log row, which stops this worker
    // (a restart with the new embedder follows); the job is retried, by a worker of the new space.
    if (err instanceof EmbedderSwitchedError) await s.indexes.synced(collection);
    throw err;
  });
  if (outcome.status === 'superseded') return superseded;
  await s.indexes.synced(collection);
  await s.commits.announce(collection, outcome.seq); // other workers apply it now, not at their next search (?wait=true)
  logger.info('document ingested', { collection, documentId: doc.id, chunks: outcome.chunks, removedChunks: outcome.removed });
  return ready(outcome);
}

async function embedChunks(s: IngestServices, texts: string[], spans: TextSpan[], onProgress: (embedded: number) => void): Promise<NewChunk[]> {
  const signal = AbortSignal.timeout(s.config.INGEST_TIMEOUT_MS);
  const chunks: NewChunk[] = [];
  for (let start = 0; start < texts.length; start += s.config.EMBED_BATCH_SIZE) {
    const batch = texts.slice(start, start + s.config.EMBED_BATCH_SIZE);
    const vectors = await s.embedder.embed(batch, signal);
    batch.forEach((text, i) => chunks.push({ text, embedding: vectors[i] ?? [], span: spans[start + i] }));
    onProgress(chunks.length);
    // A CPU-bound embedder never yields on its own: let timers run, or Bee-Queue's stall guard
    // (every STALL_INTERVAL_MS / 2) misses its turn and a live job is taken for a dead one.
    await yieldToEventLoop();
  }
  return chunks;
}
