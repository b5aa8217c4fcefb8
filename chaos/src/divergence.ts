/**
 * Index–SQL divergence per worker, after one sync: searches go through the API until GET /status
 * shows both workers (by pid) at the database's latest vector_log seq; then each worker in turn is
 * stopped with SIGTERM (it writes its final checkpoint) and the checkpoint its log names is
 * pinned (index-view.ts); once all are pinned they are started again, and each pinned checkpoint's
 * live labels are compared with the live chunk ids in SQL. A checkpoint at another seq than the database's is itself reported.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Knex } from 'knex';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import { compareIds, lastCheckpointName, pinCheckpoint, readIndexView, type PinnedCheckpoint } from './index-view.js';
import type { Stack } from './stack.js';

export interface DivergenceFindings {
  divergence: number; // summed over workers
  duplicateLabels: number;
  compared: number; // worker checkpoints read and compared
  details: string[];
}

const SYNC_TIMEOUT_MS = 30_000;

export async function measureDivergence(stack: Stack): Promise<DivergenceFindings> {
  const findings: DivergenceFindings = { divergence: 0, duplicateLabels: 0, compared: 0, details: [] };
  await stack.workersReady();
  const latest = await syncedSeq(stack);
  if (latest === undefined) findings.details.push('workers did not report the latest seq within the sync timeout');
  const live = await liveChunkIds(stack.db);
  const wrongDimension = await wrongDimensionChunks(stack.db);
  if (wrongDimension > 0) {
    findings.divergence += wrongDimension; // vectors no index of the recorded embedder can hold
    findings.details.push(`${wrongDimension} chunks have another dimension than their collection's generation`);
  }
  // Every worker is stopped (each writes its final checkpoint) and the checkpoint its log names is
  // pinned at once, before any worker runs again: workers sharing DATA_DIR (SQLite) prune each
  // other's older checkpoints, which a restarted one would otherwise do before the read.
  const pinned: Array<{ name: string; checkpoint: PinnedCheckpoint | undefined }> = [];
  for (const worker of stack.workers) pinned.push(await stopAndPin(stack, worker));
  // A worker still running may have pruned the checkpoint another had just written (the newest
  // few are kept) before it was pinned: that worker runs once more, alone, and is stopped again.
  for (const [i, entry] of pinned.entries()) {
    const worker = stack.workers[i];
    if (worker === undefined || entry.checkpoint?.ok !== false) continue;
    await worker.start();
    pinned[i] = await stopAndPin(stack, worker);
  }
  for (const worker of stack.workers) await worker.start();
  for (const { name: workerName, checkpoint } of pinned) {
    if (checkpoint === undefined) {
      findings.divergence += live.length; // nothing to compare: as far as we can tell, it holds nothing
      findings.details.push(`${workerName}: no checkpoint written at shutdown`);
      continue;
    }
    const view = await readIndexView(checkpoint);
    if (!view.ok) {
      findings.divergence += live.length;
      findings.details.push(`${workerName}: ${view.reason}`);
      continue;
    }
    const { divergence, duplicateLabels } = compareIds(view.labels, live);
    findings.divergence += divergence;
    findings.duplicateLabels += duplicateLabels;
    findings.compared += 1;
    if (divergence > 0) findings.details.push(`${workerName}: checkpoint ${view.name} (seq ${view.seq}) differs from SQL by ${divergence} ids`);
    if (latest !== undefined && view.seq !== latest) findings.details.push(`${workerName}: checkpoint seq ${view.seq}, database ${latest}`);
  }
  return findings;
}

/** Stops the worker (it writes its final checkpoint) and pins the checkpoint its log names. */
async function stopAndPin(stack: Stack, worker: Stack['workers'][number]): Promise<{ name: string; checkpoint: PinnedCheckpoint | undefined }> {
  const proc = worker.current;
  await worker.stop();
  const name = proc ? lastCheckpointName(proc.lines, DEFAULT_COLLECTION) : undefined;
  return { name: worker.name, checkpoint: name === undefined ? undefined : await pinCheckpoint(stack.checkpointDir, name) };
}

/** The latest seq once both workers report it (searches make them sync), or undefined on timeout. */
async function syncedSeq(stack: Stack): Promise<number | undefined> {
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await stack.client.post('/search', { query: 'hive honey', k: 1 });
    const reply = await stack.client.get('/status');
    const body = reply.body as { latestSeq?: number; workers?: Array<{ pid: number; appliedSeq: number }> } | null;
    const pids = stack.workers.map((worker) => worker.pid);
    const seqs = pids.map((pid) => body?.workers?.find((w) => w.pid === pid)?.appliedSeq);
    if (body?.latestSeq !== undefined && seqs.every((seq) => seq === body.latestSeq)) return body.latestSeq;
    await delay(100);
  }
  return undefined;
}

async function liveChunkIds(db: Knex): Promise<number[]> {
  const rows: Array<{ id: number | string }> = await db('chunks').where({ collection_id: DEFAULT_COLLECTION }).select('id');
  return rows.map((row) => Number(row.id));
}

/** Chunks whose stored embedding is not of the dimension their collection's current generation records (float32: 4 bytes each). */
async function wrongDimensionChunks(db: Knex): Promise<number> {
  const rows: Array<{ n: number | string }> = await db('chunks as c')
    .join('collections as k', 'k.id', 'c.collection_id')
    .join('collection_generations as g', function currentGeneration() {
      this.on('g.collection_id', '=', 'c.collection_id').andOn('g.generation', '=', 'k.generation');
    })
    .whereNotNull('g.dimension')
    .whereRaw('length(c.embedding) <> g.dimension * 4')
    .count({ n: '*' });
  const [row] = rows;
  return Number(row?.n ?? 0);
}
