/**
 * Ingests one revision of one document: chunk, embed in batches (reporting progress), then replace
 * the document's chunks and log the changes in one transaction, then sync the index. Running it
 * twice, or two attempts at once, leaves exactly one set of chunks: the last commit replaces the rest.
 * Our own attempt counter ends a job that keeps killing its worker, which Bee-Queue would re-run forever.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { IngestJob, IngestResult } from '../../../shared/src/jobs/ingest.js';
import { ValidationError } from '../../../shared/src/errors.js';
import { serializeError } from '../../../shared/src/logger.js';
import { claimIngestAttempt, findDocument, findDocumentContent, markDocumentFailed } from '../../../shared/src/db/documents-repo.js';
import { refreshDocumentChunks, replaceDocumentChunks, type NewChunk } from '../../../shared/src/db/chunks-repo.js';
import { chunkText } from '../chunk-text.js';
import { abortOnTestMarker } from '../abort-on-test-marker.js';
import type { Services } from '../services.js';
import type { JobContext } from './register.js';

type IngestServices = Pick<Services, 'config' | 'db' | 'embedder' | 'index'>;

export async function processIngest(s: IngestServices, job: IngestJob, { logger, reportProgress }: JobContext): Promise<IngestResult> {
  const superseded: IngestResult = { documentId: job.documentId, revision: job.revision, status: 'superseded', chunks: 0, removedChunks: 0 };
  const attempts = await claimIngestAttempt(s.db, job.documentId, job.revision);
  if (attempts === undefined) return superseded; // removed, re-posted or already done
  if (attempts > s.config.JOB_ATTEMPTS) {
    const reason = `gave up after ${attempts - 1} attempts (the worker crashed or stalled each time)`;
    await markDocumentFailed(s.db, job.documentId, job.revision, reason);
    throw new ValidationError(reason);
  }
  const doc = await findDocument(s.db, job.documentId);
  const content = await findDocumentContent(s.db, job.documentId);
  if (!doc || content === undefined || doc.revision !== job.revision) return superseded;
  abortOnTestMarker(s.config.COLMEIA_TEST_ABORT_MARKER, content); // tests only (poison job); inert unless set

  if (doc.indexedHash === doc.contentHash && doc.chunkCount > 0) {
    const outcome = await refreshDocumentChunks(s.db, { documentId: doc.id, revision: doc.revision });
    if (outcome.status === 'superseded') return superseded;
    logger.info('document unchanged, metadata refreshed', { documentId: doc.id, chunks: outcome.chunks });
    return { ...superseded, status: 'unchanged', chunks: outcome.chunks };
  }

  const texts = chunkText(content, { size: s.config.CHUNK_SIZE, overlap: s.config.CHUNK_OVERLAP });
  if (texts.length > s.config.MAX_CHUNKS_PER_DOCUMENT) {
    const reason = `document has ${texts.length} chunks, more than MAX_CHUNKS_PER_DOCUMENT (${s.config.MAX_CHUNKS_PER_DOCUMENT})`;
    await markDocumentFailed(s.db, doc.id, doc.revision, reason);
    throw new ValidationError(reason);
  }
  reportProgress({ done: 0, total: texts.length });
  const chunks = await embedChunks(s, texts, (embedded) => reportProgress({ done: embedded, total: texts.length }));
  const outcome = await replaceDocumentChunks(s.db, { documentId: doc.id, revision: doc.revision, contentHash: doc.contentHash, chunks });
  if (outcome.status === 'superseded') return superseded;
  await s.index.sync();
  logger.info('document ingested', { documentId: doc.id, chunks: outcome.chunks, removedChunks: outcome.removed });
  return { documentId: doc.id, revision: doc.revision, status: 'ready', chunks: outcome.chunks, removedChunks: outcome.removed };
}

async function embedChunks(s: IngestServices, texts: string[], onProgress: (embedded: number) => void): Promise<NewChunk[]> {
  const signal = AbortSignal.timeout(s.config.INGEST_TIMEOUT_MS);
  const chunks: NewChunk[] = [];
  for (let start = 0; start < texts.length; start += s.config.EMBED_BATCH_SIZE) {
    const batch = texts.slice(start, start + s.config.EMBED_BATCH_SIZE);
    const vectors = await s.embedder.embed(batch, signal);
    batch.forEach((text, i) => chunks.push({ text, embedding: vectors[i] ?? [] }));
    onProgress(chunks.length);
    // A CPU-bound embedder never yields on its own: let timers run, or Bee-Queue's stall guard
    // (every STALL_INTERVAL_MS / 2) misses its turn and a live job is taken for a dead one.
    await yieldToEventLoop();
  }
  return chunks;
}

/** After the last retry failed: the document is failed with the reason, so no client waits forever. */
export async function recordIngestGaveUp(s: Pick<Services, 'db' | 'logger'>, job: IngestJob, err: Error): Promise<void> {
  try {
    await markDocumentFailed(s.db, job.documentId, job.revision, `ingest failed: ${err.message}`);
  } catch (storeErr) {
    s.logger.error('could not mark document failed', { documentId: job.documentId, err: serializeError(storeErr) });
  }
}
