/**
 * `--phases capacity`: how much one worker holds and how long it takes to start, at each of
 * `--sizes`, with nothing but the deployed worker process. Per size: seeded low-rank vectors are
 * bulk-loaded through the repo functions (no raw index is built: that is the synthetic phase's
 * comparison), worker A starts with no checkpoint (rebuild from SQL) and stops (SIGTERM writes its
 * final checkpoint), then worker B starts from that checkpoint and is measured once its vector
 * copies for exact filtered search are in: index load time, spawn → ready, RSS split into file-backed
 * and anonymous pages. Cheaper than the synthetic phase at large sizes (one index build, no searches),
 * so 300k or 1M fit in a run.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../shared/src/config.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { claimIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import type { Logger } from '../../shared/src/logger.js';
import { lowRankVectors } from '../../test/support/low-rank-vectors.js';
import { createBuiltinEmbedder } from '../../worker/src/embedders/builtin.js';
import { checkpointDir } from '../../worker/src/vectors/index-checkpoints.js';
import { newStack, type BenchContext } from './bench-context.js';
import { addCapacityFigures, type CapacitySize } from './capacity-figures.js';
import { MIB, readProcessMemory, readResidentSplit, type ResidentSplit } from './process-memory.js';
import type { WorkerStart } from './service-stack.js';
import { addSyntheticDocument } from './synthetic-documents.js';

const LOAD_SLICE = 10_000; // vectors generated and written at a time: the bench process never holds a whole large size
const CHUNKS_PER_DOCUMENT = 100;
const COPIES_TIMEOUT_MS = 30 * 60_000;

export async function runCapacityPhase(ctx: BenchContext): Promise<void> {
  const empty = await measureEmptyWorker(ctx);
  const sizes: CapacitySize[] = [];
  for (const size of ctx.plan.indexSizes) sizes.push(await measureSize(ctx, size));
  addCapacityFigures(ctx.book, empty, sizes);
}

async function measureEmptyWorker(ctx: BenchContext): Promise<ResidentSplit> {
  const handle = newStack(ctx, 'cap-empty');
  try {
    const worker = await handle.stack.startWorker();
    const split = readResidentSplit(worker.process.pid);
    ctx.progress(`capacity: empty worker RSS ${mib(split.rssBytes)} (${mib(split.fileBytes)} file-backed)`);
    return split;
  } finally {
    await handle.dispose();
  }
}

async function measureSize(ctx: BenchContext, size: number): Promise<CapacitySize> {
  const handle = newStack(ctx, `cap-${size}`);
  try {
    const loadMs = await loadVectors(handle.config, handle.logger, size);
    ctx.progress(`capacity ${size}: loaded in ${(loadMs / 1_000).toFixed(1)} s; worker A: rebuild from the database`);
    const rebuild = await handle.stack.startWorker();
    const rebuiltRss = readProcessMemory(rebuild.process.pid);
    await handle.stack.stopWorker(rebuild); // SIGTERM: the final checkpoint is written
    const checkpointBytes = await indexFileBytes(handle.config.DATA_DIR);
    ctx.progress(`capacity ${size}: rebuilt in ${rebuild.index.durationMs} ms, RSS ${mib(rebuiltRss.rssBytes)}; worker B: from the checkpoint`);
    const loaded = await handle.stack.startWorker();
    const startRss = readProcessMemory(loaded.process.pid);
    await loaded.process.waitForLine(/"vector copies loaded"/, COPIES_TIMEOUT_MS);
    const copiesMs = copiesDurationMs(loaded);
    const split = readResidentSplit(loaded.process.pid);
    const peakRssBytes = readProcessMemory(loaded.process.pid).peakRssBytes;
    ctx.progress(
      `capacity ${size}: checkpoint load ${loaded.index.durationMs} ms, ready in ${Math.round(loaded.wallMs)} ms, RSS ${mib(split.rssBytes)} with copies`,
    );
    return {
      size,
      loadMs,
      rebuildMs: rebuild.index.durationMs,
      rebuildWallMs: rebuild.wallMs,
      rebuiltRssBytes: rebuiltRss.rssBytes,
      checkpointMs: loaded.index.durationMs,
      checkpointSource: loaded.index.source,
      checkpointWallMs: loaded.wallMs,
      copiesMs,
      checkpointBytes,
      rssAtReadyBytes: startRss.rssBytes,
      resident: split,
      peakRssBytes,
    };
  } finally {
    await handle.dispose();
  }
}

/** Writes `size` low-rank vectors as ready documents of 100 chunks, a slice at a time; returns the wall time. */
async function loadVectors(config: Config, logger: Logger, size: number): Promise<number> {
  const started = performance.now();
  const embedder = createBuiltinEmbedder(config.BUILTIN_EMBED_DIM);
  const db = await openDatabase(config, logger);
  try {
    await claimIndexMeta(db, embedder.id, embedder.dimension);
    let document = 0;
    for (let offset = 0; offset < size; offset += LOAD_SLICE) {
      const slice = lowRankVectors(Math.min(LOAD_SLICE, size - offset), embedder.dimension, 7 + offset / LOAD_SLICE); // one basis, fresh noise per slice
      for (let at = 0; at < slice.length; at += CHUNKS_PER_DOCUMENT) {
        await addSyntheticDocument(db, `cap-${document}`, slice.slice(at, at + CHUNKS_PER_DOCUMENT));
        document += 1;
      }
    }
  } finally {
    await db.destroy();
  }
  return performance.now() - started;
}

/** Size of the newest hnswlib file among the default collection's checkpoints (the raw index file at this size). */
async function indexFileBytes(dataDir: string): Promise<number> {
  const dir = checkpointDir({ DATA_DIR: dataDir }, DEFAULT_COLLECTION);
  const files = (await readdir(dir)).filter((name) => name.endsWith('.bin')).sort();
  const newest = files[files.length - 1];
  if (!newest) throw new Error(`no checkpoint file in ${dir}: ${(await readdir(dir)).join(', ')}`);
  return (await stat(path.join(dir, newest))).size;
}

function copiesDurationMs(worker: WorkerStart): number {
  const line = worker.process.lines.find((entry) => entry.includes('"vector copies loaded"'));
  const parsed: unknown = line === undefined ? undefined : JSON.parse(line);
  const durationMs = typeof parsed === 'object' && parsed !== null ? (parsed as { durationMs?: unknown }).durationMs : undefined;
  return typeof durationMs === 'number' ? durationMs : Number.NaN;
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}
