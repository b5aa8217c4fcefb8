/**
 * Item 8a, through the real processes: does a collection's search cost depend on the collections
 * beside it? Two services are started side by side on their own databases, one holding only the
 * neighbour collection (N chunks) and one holding the same collection (same vectors, texts and chunk
 * ids, loaded first) next to a large one (10 N); each has one worker that builds its indexes from the
 * database as in production. Once both have checkpointed, the same POST /collections/neighbour/search
 * requests (k=10, modes vector and hybrid) go to both in turns, one at a time, so machine noise falls
 * on both alike; the top 10 of mode vector must be the same in both (the same graph was built).
 */
import { z } from 'zod';
import { newStack, type BenchContext, type StackHandle } from './bench-context.js';
import { HttpClient } from './http-client.js';
import { loadSyntheticCollection, openSyntheticDatabase } from './synthetic-collections.js';
import { syntheticChunkText, vocabularyOf } from './synthetic-texts.js';
import type { WorkerStart } from './service-stack.js';
import { isCheckpointed, waitForWorkerCollections } from './worker-status.js';
import { lowRankVectors } from '../../test/support/low-rank-vectors.js';

export const NEIGHBOUR = 'neighbour';
const LARGE = 'large';
const K = 10;
const WARMUP = 30;
const SETTLE_TIMEOUT_MS = 30 * 60_000; // a 100k rebuild takes minutes on a busy machine
export const NEIGHBOUR_MODES = ['vector', 'hybrid'] as const;
type Mode = (typeof NEIGHBOUR_MODES)[number];

export interface NeighbourResult {
  neighbourChunks: number;
  largeChunks: number;
  loadMs: number; // bulk load of both collections into the shared service's database
  rebuildMs: { alone: number; beside: number }; // spawn → worker ready, each building its indexes from the database
  latencies: Array<{ mode: Mode; alone: number[]; beside: number[] }>;
  sameTop10: number; // share of mode-vector queries whose top 10 chunk ids are the same in both services
}

interface Side {
  handle: StackHandle;
  client?: HttpClient;
}

export async function measureNeighbourSearch(ctx: BenchContext, queryTexts: readonly string[]): Promise<NeighbourResult> {
  const { neighbourChunks, largeChunks } = ctx.plan.collections;
  const env = { CHECKPOINT_EVERY_OPS: String(Math.min(5_000, Math.floor(neighbourChunks / 2))) };
  const alone: Side = { handle: newStack(ctx, 'col-alone', env) };
  const beside: Side = { handle: newStack(ctx, 'col-beside', env) };
  try {
    const loadMs = await loadSides(ctx, alone, beside, queryTexts);
    ctx.progress(`collections: both services build their indexes from the database (${neighbourChunks} alone; ${neighbourChunks} + ${largeChunks})`);
    const [aloneWorker, besideWorker] = await Promise.all([alone.handle.stack.startWorker(), beside.handle.stack.startWorker()]);
    const aloneClient = await settledClient(ctx, alone, aloneWorker);
    const besideClient = await settledClient(ctx, beside, besideWorker);
    ctx.progress(`collections: ${ctx.plan.httpSamples} searches per mode in each service, in turns`);
    const timed = await timeInTurns(aloneClient, besideClient, queryTexts, ctx.plan.httpSamples);
    return {
      neighbourChunks,
      largeChunks,
      loadMs,
      rebuildMs: { alone: aloneWorker.wallMs, beside: besideWorker.wallMs },
      latencies: timed.latencies,
      sameTop10: timed.sameTop10,
    };
  } finally {
    for (const side of [alone, beside]) {
      side.client?.close();
      await side.handle.dispose();
    }
  }
}

/** Starts the side's web process and waits until its worker has checkpointed every index, so no checkpoint write overlaps the timings. */
async function settledClient(ctx: BenchContext, side: Side, worker: WorkerStart): Promise<HttpClient> {
  await side.handle.stack.startWeb();
  const client = new HttpClient(side.handle.stack.url, ctx.apiKey);
  side.client = client;
  await waitForWorkerCollections(client, worker.process.pid, isCheckpointed, SETTLE_TIMEOUT_MS);
  return client;
}

/** The neighbour collection in both databases (same seed: same vectors and texts, and chunk ids 1..N), the large one in the second only. */
async function loadSides(ctx: BenchContext, alone: Side, beside: Side, queryTexts: readonly string[]): Promise<number> {
  const { neighbourChunks, largeChunks } = ctx.plan.collections;
  const vocabulary = vocabularyOf(queryTexts);
  const aloneDb = await openSyntheticDatabase(alone.handle);
  const besideDb = await openSyntheticDatabase(beside.handle);
  try {
    const dimension = aloneDb.embedder.dimension;
    ctx.progress(`collections: generating and bulk-loading ${neighbourChunks} + ${largeChunks} low-rank vectors`);
    const neighbour = { id: NEIGHBOUR, vectors: lowRankVectors(neighbourChunks, dimension, 11), chunkText: syntheticChunkText(vocabulary, 11) };
    await loadSyntheticCollection(aloneDb.db, neighbour);
    const started = performance.now();
    const loaded = await loadSyntheticCollection(besideDb.db, neighbour);
    await loadSyntheticCollection(besideDb.db, {
      id: LARGE,
      vectors: lowRankVectors(largeChunks, dimension, 12),
      chunkText: syntheticChunkText(vocabulary, 12),
    });
    const loadMs = performance.now() - started;
    ctx.progress(`collections: loaded ${loaded.chunkIds.length + largeChunks} chunks in ${(loadMs / 1_000).toFixed(1)} s`);
    return loadMs;
  } finally {
    await aloneDb.db.destroy();
    await besideDb.db.destroy();
  }
}

async function timeInTurns(
  alone: HttpClient,
  beside: HttpClient,
  queryTexts: readonly string[],
  samples: number,
): Promise<{ latencies: NeighbourResult['latencies']; sameTop10: number }> {
  const path = `/collections/${NEIGHBOUR}/search`;
  const latencies = NEIGHBOUR_MODES.map((mode) => ({ mode, alone: [] as number[], beside: [] as number[] }));
  let same = 0;
  let compared = 0;
  for (let i = -WARMUP; i < samples; i++) {
    const query = queryTexts[(i + WARMUP) % queryTexts.length] ?? '';
    for (const entry of latencies) {
      const body = { query, k: K, mode: entry.mode };
      const first = i % 2 === 0 ? alone : beside; // alternate which service goes first
      const second = first === alone ? beside : alone;
      const a = await first.expect(200, 'POST', path, body);
      const b = await second.expect(200, 'POST', path, body);
      if (i < 0) continue;
      const [aloneReply, besideReply] = first === alone ? [a, b] : [b, a];
      entry.alone.push(aloneReply.ms);
      entry.beside.push(besideReply.ms);
      if (entry.mode === 'vector') {
        compared++;
        if (topIds(aloneReply.body) === topIds(besideReply.body)) same++;
      }
    }
  }
  return { latencies, sameTop10: compared === 0 ? 0 : same / compared };
}

const SearchReply = z.object({ results: z.array(z.object({ chunkId: z.number() })) });

function topIds(body: unknown): string {
  return SearchReply.parse(body)
    .results.map((hit) => hit.chunkId)
    .join(',');
}
