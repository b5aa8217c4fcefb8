/**
 * Ingests one revision of one document: chunk, embed in batches (reporting progress), then replace
 * the document's chunks and log the changes in one transaction, then sync the index. Running it
 * twice, or two attempts at once, leaves exactly one set of chunks: the last commit replaces the rest.
 * A document with too many chunks fails for good (the queue's give-up handler marks it failed).
 * The chunks are embedded by the collection's current generation's embedder, and also by the one a
 * running reindex builds; the commit is fenced on those generations, and embedded again when a
 * reindex started or swapped meanwhile (DESIGN.md §13). A collection whose embedder is unavailable
 * fails the attempt (CollectionDegradedError), so the job is retried with back-off.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { IngestJob, IngestResult } from '../../../shared/src/jobs/ingest.js';
import { UnrecoverableJobError } from '../../../shared/src/errors.js';
import { findDocument, findDocumentContent, markDocumentIndexing } from '../../../shared/src/db/documents-repo.js';
import { refreshDocumentChunks, replaceDocumentChunks, type NewChunk, type ReplaceOutcome } from '../../../shared/src/db/chunks-repo.js';
import { GenerationChangedError, readCollectionGenerations } from '../../../shared/src/db/generations-repo.js';
import type { Embedder } from '../embedders/embedder.js';
import { embedderForGeneration } from '../embedders/generation-embedder.js';
import type { Logger } from '../../../shared/src/logger.js';
import { chunkSpans, type TextSpan } from '../chunk-text.js';
import { abortOnTestMarker } from '../abort-on-test-marker.js';
import type { Services } from '../services.js';
import type { JobContext } from './job-context.js';

type IngestServices = Pick<Services, 'config' | 'db' | 'embedders' | 'indexes'>;

const FENCE_TRIES = 5; // embeddings made again within one attempt when a reindex moved the generation meanwhile

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
    return { ...superseded, status: 'unchanged', chunks: outcome.chunks };
  }

  const spans = chunkSpans(content, { size: s.config.CHUNK_SIZE, overlap: s.config.CHUNK_OVERLAP });
  const texts = spans.map((span) => content.slice(span.start, span.end));
  if (texts.length > s.config.MAX_CHUNKS_PER_DOCUMENT) {
    throw new UnrecoverableJobError(
      'too_many_chunks',
      `document has ${texts.length} chunks, more than MAX_CHUNKS_PER_DOCUMENT (${s.config.MAX_CHUNKS_PER_DOCUMENT})`,
    );
  }
  const ready = (replaced: { chunks: number; removed: number }): IngestResult => ({
    documentId: doc.id,
    revision: doc.revision,
    status: 'ready',
    chunks: replaced.chunks,
    removedChunks: replaced.removed,
  });
  const commit = { collection, documentId: doc.id, revision: doc.revision, contentHash: doc.contentHash };
  const onProgress = (embedded: number) => reportProgress({ done: embedded, total: texts.length });
  const outcome = await commitFenced(s, { collection, texts, logger, onProgress }, (generations, chunks) =>
    replaceDocumentChunks(s.db, { ...commit, ...generations, chunks: withSpans(chunks, spans) }, (trx, replaced) => saveOutcome(trx, ready(replaced))),
  );
  if (outcome.status === 'superseded') return superseded;
  await s.indexes.synced(collection);
  logger.info('document ingested', { collection, documentId: doc.id, chunks: outcome.chunks, removedChunks: outcome.removed });
  return ready(outcome);
}

type Commit = (
  generations: { generation: number; staged: { generation: number; embeddings: number[][] } | undefined },
  chunks: NewChunk[],
) => Promise<ReplaceOutcome>;

interface FencedInput {
  collection: string;
  texts: string[];
  logger: Logger;
  onProgress: (embedded: number) => void;
}

/** Embeds the chunks for the collection's generations (current, and the one being built) and commits them; again when the fence refuses. */
async function commitFenced(s: IngestServices, input: FencedInput, commit: Commit): Promise<ReplaceOutcome> {
  const { collection, texts } = input;
  const signal = AbortSignal.timeout(s.config.INGEST_TIMEOUT_MS);
  for (let attempt = 1; ; attempt++) {
    const state = await readCollectionGenerations(s.db, collection);
    if (!state) return { status: 'superseded' }; // the collection is gone
    const current = await embedderForGeneration(s, collection, state.current);
    const building = state.building === null ? null : await embedderForGeneration(s, collection, state.building);
    input.onProgress(0);
    const chunks = await embedChunks(current.embedder, s.config.EMBED_BATCH_SIZE, texts, signal, input.onProgress);
    const staged =
      building === null || state.building === null
        ? undefined
        : {
            generation: state.building.generation,
            embeddings: (await embedChunks(building.embedder, s.config.EMBED_BATCH_SIZE, texts, signal, () => undefined)).map((c) => c.embedding),
          };
    try {
      return await commit({ generation: state.current.generation, staged }, chunks);
    } catch (err) {
      if (!(err instanceof GenerationChangedError) || attempt >= FENCE_TRIES) throw err;
      input.logger.info('generation moved while embedding; embedding again', { collection, attempt, reason: err.message });
    }
  }
}

async function embedChunks(
  embedder: Embedder,
  batchSize: number,
  texts: string[],
  signal: AbortSignal,
  onProgress: (embedded: number) => void,
): Promise<NewChunk[]> {
  const chunks: NewChunk[] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    const batch = texts.slice(start, start + batchSize);
    const vectors = await embedder.embed(batch, signal);
    batch.forEach((text, i) => chunks.push({ text, embedding: vectors[i] ?? [] }));
    onProgress(chunks.length);
    // A CPU-bound embedder never yields on its own: let timers run, or Bee-Queue's stall guard
    // (every STALL_INTERVAL_MS / 2) misses its turn and a live job is taken for a dead one.
    await yieldToEventLoop();
  }
  return chunks;
}

/** The chunks with where each lies in the document's text. */
function withSpans(chunks: NewChunk[], spans: TextSpan[]): NewChunk[] {
  return chunks.map((chunk, i) => {
    const span = spans[i];
    return span === undefined ? chunk : { ...chunk, span: { start: span.start, end: span.end } };
  });
}
