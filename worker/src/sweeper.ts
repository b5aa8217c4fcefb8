/**
 * Enqueues again every acknowledged job that has not ended and that Redis no longer has (FLUSHALL,
 * no persistence, eviction, failover), at start-up and then periodically: ingests, removals and
 * answers alike, from the payload recorded in SQL when the job was acknowledged. Jobs keep their
 * ids, so sweeps by several workers never duplicate a job.
 */
import type Queue from 'bee-queue';
import { listUnfinishedJobs, touchJob } from '../../shared/src/db/jobs-repo.js';
import { isQueueName } from '../../shared/src/jobs/queue-table.js';
import { enqueue } from '../../shared/src/queue/enqueue.js';
import { serializeError } from '../../shared/src/logger.js';
import type { Knex } from 'knex';
import type { Config } from '../../shared/src/config.js';
import type { Logger } from '../../shared/src/logger.js';
import type { Queues } from '../../shared/src/queue/queues.js';

export interface SweeperParts {
  config: Config;
  db: Knex;
  queues: Queues;
  logger: Logger;
}

const SWEEP_BATCH = 500;

export function startSweeper(s: SweeperParts): { close(): void } {
  let isRunning = false;
  const run = async () => {
    if (isRunning) return;
    isRunning = true;
    try {
      await sweepOnce(s);
    } catch (err) {
      s.logger.warn('sweep failed', { err: serializeError(err) });
    } finally {
      isRunning = false;
    }
  };
  void run();
  const timer = setInterval(() => void run(), s.config.SWEEP_INTERVAL_MS);
  timer.unref();
  return { close: () => clearInterval(timer) };
}

export async function sweepOnce(s: SweeperParts): Promise<number> {
  const started = performance.now();
  const candidates = await listUnfinishedJobs(s.db, Date.now() - s.config.SWEEP_MIN_AGE_MS, SWEEP_BATCH);
  let requeued = 0;
  for (const candidate of candidates) {
    if (!isQueueName(candidate.queue)) continue;
    if (await requeueIfLost(s, s.queues[candidate.queue] as Queue<unknown>, candidate)) requeued++;
    await touchJob(s.db, candidate.queue, candidate.jobId); // seen: the next sweeps look at the others first
  }
  if (candidates.length > 0) {
    s.logger.info('sweep done', { unfinished: candidates.length, requeued, durationMs: Math.round(performance.now() - started) });
  }
  return requeued;
}

/**
 * A live job (waiting, active, delayed) will end by itself. A failed one left behind (its give-up
 * record was lost) is replaced: its attempt count in SQL makes the new one give up properly.
 */
async function requeueIfLost(s: SweeperParts, queue: Queue<unknown>, candidate: { jobId: string; data: unknown }): Promise<boolean> {
  const existing = await queue.getJob(candidate.jobId);
  if (existing && existing.status !== 'failed') return false;
  if (existing) await queue.removeJob(candidate.jobId);
  await enqueue(queue, s.config, candidate.jobId, candidate.data);
  return true;
}
