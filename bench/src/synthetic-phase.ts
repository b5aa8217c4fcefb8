/**
 * Items 2, 3, 6 and 7 (and the synthetic half of 1 and 5) at each index size: seeded low-rank vectors
 * are bulk-loaded through the repo functions, hnswlib-node builds the raw index from the same vectors
 * in the same order, the real processes are started and driven over HTTP, and then the worker's
 * VectorIndex is measured in-process next to the raw index. Figures are added per size, then the
 * ones that compare sizes (sync flatness, memory per 100k chunks).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase } from '../../shared/src/db/connection.js';
import { claimIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { lowRankVectors } from '../../test/support/low-rank-vectors.js';
import { createBuiltinEmbedder } from '../../worker/src/embedders/builtin.js';
import { newStack, type BenchContext } from './bench-context.js';
import { ExactIndex } from './exact-index.js';
import { buildRawIndex } from './raw-index.js';
import { MIB, readProcessMemory } from './process-memory.js';
import { addSizeFigures, addCrossSizeFigures, type SizeMeasurements } from './synthetic-figures.js';
import { measureSyntheticHttp, K } from './synthetic-http.js';
import { measureInProcess } from './synthetic-in-process.js';
import { DECLARED_FIELD, loadSyntheticDocuments } from './synthetic-documents.js';
import { declarePayloadIndex } from '../../shared/src/db/payload-indexes-repo.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';

export async function runSyntheticPhase(ctx: BenchContext, queryTexts: readonly string[]): Promise<void> {
  const emptyRssBytes = await measureEmptyWorker(ctx);
  const measured: SizeMeasurements[] = [];
  for (const size of ctx.plan.indexSizes) {
    const result = await runSize(ctx, size, queryTexts);
    addSizeFigures(ctx.book, result);
    measured.push(result);
  }
  addCrossSizeFigures(ctx.book, measured, emptyRssBytes);
}

/** RSS of a worker holding an empty index: the fixed cost that memory per 100k chunks is measured above. */
async function measureEmptyWorker(ctx: BenchContext): Promise<number> {
  const handle = newStack(ctx, 'empty');
  try {
    const worker = await handle.stack.startWorker();
    const rss = readProcessMemory(worker.process.pid).rssBytes;
    ctx.progress(`empty worker: RSS ${(rss / MIB).toFixed(1)} MiB, ready in ${Math.round(worker.wallMs)} ms`);
    return rss;
  } finally {
    await handle.dispose();
  }
}

async function runSize(ctx: BenchContext, size: number, queryTexts: readonly string[]): Promise<SizeMeasurements> {
  const { plan, progress } = ctx;
  // Checkpoint soon after a rebuild even at small sizes, so worker B can start from one.
  const handle = newStack(ctx, `syn-${size}`, { CHECKPOINT_EVERY_OPS: String(Math.min(5_000, Math.floor(size / 2))) });
  const { config } = handle;
  const embedder = createBuiltinEmbedder(config.BUILTIN_EMBED_DIM);
  const db = await openDatabase(config, handle.logger);
  try {
    const meta = await claimIndexMeta(db, embedder.id, embedder.dimension);
    const identity = { embedder: embedder.id, dimension: embedder.dimension, instanceId: meta.instanceId };
    progress(`synthetic ${size}: generating and bulk-loading low-rank vectors`);
    const load = await loadSyntheticDocuments(db, lowRankVectors(size, embedder.dimension, 7));
    await declarePayloadIndex(db, { collection: DEFAULT_COLLECTION, field: DECLARED_FIELD, type: 'number', max: config.MAX_PAYLOAD_INDEXES });
    progress(`synthetic ${size}: loaded ${size} chunks in ${load.documents} documents in ${(load.loadMs / 1_000).toFixed(1)} s; raw hnswlib build`);
    const raw = buildRawIndex(load.vectors, load.chunkIds, { dimension: embedder.dimension, m: config.HNSW_M, efConstruction: config.HNSW_EF_CONSTRUCTION });
    const rawFile = path.join(handle.dataDir, 'raw-index.bin');
    raw.hnsw.writeIndexSync(rawFile);
    const rawFileBytes = (await stat(rawFile)).size;
    progress(`synthetic ${size}: raw build ${Math.round(raw.pointsPerSecond)} addPoint/s; exact top ${K} of ${plan.recallQueries} queries`);
    const lowRankQueries = lowRankVectors(plan.recallQueries, embedder.dimension, 99);
    const exact = new ExactIndex(load.vectors, load.chunkIds, embedder.dimension);
    const truth = lowRankQueries.map((query) => exact.topK(query, K));
    const textQueries = await embedder.embed([...queryTexts]);

    progress(`synthetic ${size}: processes and HTTP`);
    const http = await measureSyntheticHttp(handle, ctx.apiKey, queryTexts, {
      samples: plan.httpSamples,
      seconds: plan.autocannonSeconds,
      connections: plan.autocannonConnections,
      redisPid: ctx.redisPid,
      progress,
    });
    progress(`synthetic ${size}: in-process VectorIndex next to raw hnswlib`);
    const inProcess = await measureInProcess({
      handle,
      db,
      identity,
      raw: raw.hnsw,
      rawFile,
      textQueries,
      lowRankQueries,
      exact,
      truth,
      syncSamples: plan.syncSamples,
      syncAddRepeats: plan.syncAddRepeats,
    });
    raw.hnsw.setEf(config.HNSW_EF_SEARCH);
    const rawAnswers = textQueries.map((query) => raw.hnsw.searchKnn(query, K).neighbors);
    const rawBuild = { pointsPerSecond: raw.pointsPerSecond, totalMs: raw.totalMs, addPointMs: raw.addPointMs, rssDeltaBytes: raw.rssDeltaBytes };
    return { size, documents: load.documents, loadMs: load.loadMs, raw: rawBuild, rawFileBytes, http, inProcess, rawAnswers };
  } finally {
    await db.destroy();
    await handle.dispose();
  }
}
