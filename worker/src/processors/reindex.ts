/**
 * Builds a new generation of one collection and swaps it in (jobs/reindex.ts). Every chunk without
 * a staged vector of the generation is embedded with its embedder, in batches, progress reported
 * as chunks staged of chunks in all; searches keep using the current generation meanwhile, and
 * ingest commits stage their own chunks' vectors. Then one transaction embeds what is still
 * missing, swaps the vectors in and logs a `swap` row; this worker rebuilds its index at once, the
 * others on their next sync. A re-run after a crash resumes from what was staged.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ReindexJob, ReindexResult } from '../../../shared/src/jobs/reindex.js';
import { countStaged, readCollectionGenerations, readUnstagedChunks, stageEmbeddings, swapGeneration } from '../../../shared/src/db/generations-repo.js';
import type { JobProgress } from '../../../shared/src/queue/job-progress.js';
import type { Embedder } from '../embedders/embedder.js';
import { embedderForGeneration } from '../embedders/generation-embedder.js';
import type { Services } from '../services.js';
import type { JobContext } from './job-context.js';

type ReindexServices = Pick<Services, 'config' | 'db' | 'embedders' | 'indexes'>;

export async function processReindex(
  s: ReindexServices,
  job: ReindexJob,
  { logger, reportProgress, saveOutcome }: JobContext<ReindexResult>,
): Promise<ReindexResult> {
  const { collection, generation } = job;
  const state = await readCollectionGenerations(s.db, collection);
  const superseded: ReindexResult = { collection, generation, embedder: '', chunks: 0, status: 'superseded' };
  if (!state || state.uid !== job.uid || state.building?.generation !== generation) return superseded; // deleted, or abandoned
  const target = await embedderForGeneration(s, collection, state.building); // unavailable: retried with back-off
  const signal = AbortSignal.timeout(s.config.REINDEX_TIMEOUT_MS);
  const started = performance.now();
  logger.info('reindex building', { collection, generation, embedder: target.fingerprint });
  const staged = await stageAll(s, job, target.embedder, signal, reportProgress);
  const result = (chunks: number): ReindexResult => ({ collection, generation, embedder: target.fingerprint, chunks, status: 'swapped' });
  const swapped = await swapGeneration(
    s.db,
    { collection, generation },
    (chunks) =>
      target.embedder.embed(
        chunks.map((chunk) => chunk.text),
        signal,
      ),
    (trx, chunks) => saveOutcome(trx, result(chunks)),
  );
  if (swapped.status === 'superseded') return superseded;
  await s.indexes.refresh(); // this worker serves the new generation at once; the others on their next sync
  logger.info('collection reindexed', {
    collection,
    generation,
    embedder: target.fingerprint,
    chunks: swapped.chunks,
    staged,
    durationMs: Math.round(performance.now() - started),
  });
  return result(swapped.chunks);
}

/** Stages a vector of the new generation for every chunk that has none yet; returns how many this run embedded. */
async function stageAll(
  s: ReindexServices,
  job: ReindexJob,
  embedder: Embedder,
  signal: AbortSignal,
  report: (progress: JobProgress) => void,
): Promise<number> {
  const { collection, generation } = job;
  const counts = await countStaged(s.db, collection, generation);
  let done = counts.staged;
  let embedded = 0;
  report({ done, total: Math.max(done, counts.chunks) });
  for (let afterId = 0; ;) {
    const chunks = await readUnstagedChunks(s.db, collection, generation, afterId, s.config.EMBED_BATCH_SIZE);
    if (chunks.length === 0) return embedded;
    const vectors = await embedder.embed(
      chunks.map((chunk) => chunk.text),
      signal,
    );
    await stageEmbeddings(
      s.db,
      collection,
      generation,
      chunks.map((chunk, i) => ({ id: chunk.id, embedding: vectors[i] ?? [] })),
    );
    done += chunks.length;
    embedded += chunks.length;
    report({ done, total: Math.max(done, counts.chunks) });
    afterId = chunks.at(-1)?.id ?? afterId;
    await yieldToEventLoop(); // a CPU-bound embedder never yields on its own: let the stall guard run
  }
}
