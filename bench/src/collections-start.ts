/**
 * Item 8b, through the real processes: a worker starting with many small collections. First a
 * worker starts on the empty database (the fixed cost: Node, modules, migrations, Redis, queues);
 * then M collections of C chunks are bulk-loaded; worker A starts with no checkpoint (every index rebuilt from SQL: the
 * raw figure) and is stopped, which writes every collection's final checkpoint; then workers start
 * from those checkpoints, one at a time. Each start is timed from spawn to its "worker ready" line
 * (written once every collection's index is loaded and the first heartbeat is out) and to GET
 * /status showing every collection at its full size (with the worker's CPU time by then); then one search in each collection must
 * answer with k hits, and every index must say it came from a checkpoint.
 */
import { z } from 'zod';
import { newStack, type BenchContext, type StackHandle } from './bench-context.js';
import { HttpClient } from './http-client.js';
import { readProcessCpuMs } from './process-cpu.js';
import { loadSyntheticCollection, openSyntheticDatabase } from './synthetic-collections.js';
import { syntheticChunkText, vocabularyOf } from './synthetic-texts.js';
import { indexReadyLines } from './service-stack.js';
import { waitForWorkerCollections, type CollectionStats } from './worker-status.js';
import { lowRankVectors } from '../../test/support/low-rank-vectors.js';

const K = 10;
const STATUS_TIMEOUT_MS = 10 * 60_000;

export interface WorkerStartTiming {
  readyMs: number; // spawn → "worker ready"
  statusMs: number; // spawn → GET /status shows every collection loaded
  cpuMs: number; // CPU time (all threads) the worker used by then: unlike wall time, meaningful on a busy machine
  indexLoadMs: number; // the sum of the collections' "index ready" durations (checkpoint or rebuild, then the log tail)
  fromCheckpoint: number; // collections whose index came from a checkpoint
  answering: number; // collections whose search answered with k hits after the start
}

export interface ManyCollectionsResult {
  collections: number;
  chunksPerCollection: number;
  loadMs: number;
  empty: WorkerStartTiming; // the default collection alone, empty
  rebuild: WorkerStartTiming;
  checkpoint: WorkerStartTiming[];
}

export function collectionName(i: number): string {
  return `c-${String(i).padStart(3, '0')}`;
}

export async function measureManyCollectionsStart(ctx: BenchContext, queryTexts: readonly string[]): Promise<ManyCollectionsResult> {
  const { manyCollections, chunksPerCollection, starts } = ctx.plan.collections;
  const handle = newStack(ctx, 'col-many', { CHECKPOINT_EVERY_OPS: String(chunksPerCollection) });
  try {
    await handle.stack.startWeb();
    const client = new HttpClient(handle.stack.url, ctx.apiKey);
    try {
      const empty = await timeStart(handle, client, queryTexts, { collections: 0, chunksPerCollection });
      ctx.progress(`collections: a worker on the empty database is ready in ${Math.round(empty.readyMs)} ms`);
      const loadMs = await loadMany(ctx, handle, queryTexts);
      const many = { collections: manyCollections, chunksPerCollection };
      ctx.progress(`collections: worker A starts with no checkpoint (${manyCollections} indexes rebuilt from the database)`);
      const rebuild = await timeStart(handle, client, queryTexts, many);
      const checkpoint: WorkerStartTiming[] = [];
      for (let i = 0; i < starts; i++) {
        const timing = await timeStart(handle, client, queryTexts, many);
        ctx.progress(`collections: start ${i + 1} from checkpoints: ready in ${Math.round(timing.readyMs)} ms, ${timing.fromCheckpoint} from a checkpoint`);
        checkpoint.push(timing);
      }
      return { collections: manyCollections, chunksPerCollection, loadMs, empty, rebuild, checkpoint };
    } finally {
      client.close();
    }
  } finally {
    await handle.dispose();
  }
}

async function loadMany(ctx: BenchContext, handle: StackHandle, queryTexts: readonly string[]): Promise<number> {
  const { manyCollections, chunksPerCollection } = ctx.plan.collections;
  const vocabulary = vocabularyOf(queryTexts);
  const { db, embedder } = await openSyntheticDatabase(handle);
  try {
    ctx.progress(`collections: bulk-loading ${manyCollections} collections of ${chunksPerCollection} low-rank vectors`);
    const started = performance.now();
    for (let i = 0; i < manyCollections; i++) {
      const seed = 1_000 + i;
      await loadSyntheticCollection(db, {
        id: collectionName(i),
        vectors: lowRankVectors(chunksPerCollection, embedder.dimension, seed),
        chunkText: syntheticChunkText(vocabulary, seed),
      });
    }
    const loadMs = performance.now() - started;
    ctx.progress(`collections: loaded ${manyCollections * chunksPerCollection} chunks in ${(loadMs / 1_000).toFixed(1)} s`);
    return loadMs;
  } finally {
    await db.destroy();
  }
}

/** One worker start, timed and checked; the worker is stopped afterwards (writing its final checkpoints). */
async function timeStart(
  handle: StackHandle,
  client: HttpClient,
  queryTexts: readonly string[],
  expected: { collections: number; chunksPerCollection: number },
): Promise<WorkerStartTiming> {
  const { collections: manyCollections, chunksPerCollection } = expected;
  const spawned = performance.now();
  const worker = await handle.stack.startWorker();
  await waitForWorkerCollections(
    client,
    worker.process.pid,
    (collections) => isEveryCollectionLoaded(collections, manyCollections, chunksPerCollection),
    STATUS_TIMEOUT_MS,
  );
  const statusMs = performance.now() - spawned;
  const cpuMs = readProcessCpuMs(worker.process.pid);
  let answering = 0;
  for (let i = 0; i < manyCollections; i++) {
    const reply = await client.expect(200, 'POST', `/collections/${collectionName(i)}/search`, {
      query: queryTexts[i % queryTexts.length],
      k: K,
      mode: 'vector',
    });
    if (SearchReply.parse(reply.body).results.length === K) answering++;
  }
  const indexes = indexReadyLines(worker.process);
  await handle.stack.stopWorker(worker);
  return {
    readyMs: worker.wallMs,
    statusMs,
    cpuMs,
    indexLoadMs: indexes.reduce((total, line) => total + line.durationMs, 0),
    fromCheckpoint: indexes.filter((line) => line.source === 'checkpoint' && line.size > 0).length,
    answering,
  };
}

const SearchReply = z.object({ results: z.array(z.unknown()) });

/** The default collection and the M synthetic ones, each at its full size. */
function isEveryCollectionLoaded(collections: Record<string, CollectionStats>, count: number, size: number): boolean {
  for (let i = 0; i < count; i++) if (collections[collectionName(i)]?.size !== size) return false;
  return collections.default !== undefined;
}
