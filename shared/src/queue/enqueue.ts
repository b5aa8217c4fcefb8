/**
 * Puts a job on a queue with the retry, backoff and timeout policy of its queue. A save that Redis
 * does not acknowledge quickly fails with a 503; the caller has already stored what the job is
 * about, and the job id is deterministic where a duplicate would be harmful.
 * Policy per queue (config): timeout INGEST/REMOVE/ANSWER/SEARCH_TIMEOUT_MS; ingest, remove and answer
 * get JOB_ATTEMPTS attempts with exponential back-off from JOB_BACKOFF_MS, jittered; search gets
 * one attempt (a retried search would answer nobody: its caller has its own deadline).
 */
import type Queue from 'bee-queue';
import type { Config } from '../config.js';
import { UpstreamUnavailableError } from '../errors.js';
import type { QueueName } from '../jobs/job-result.js';
import { beeClients } from './bee-clients.js';
import { saveJob } from './queue-scripts.js';
import { withTimeout } from '../time-limits.js';

export const JITTERED_BACKOFF = 'jittered';
const SAVE_TIMEOUT_MS = 1_000;

export type JobPolicyConfig = Pick<Config, 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS' | 'INGEST_TIMEOUT_MS' | 'REMOVE_TIMEOUT_MS' | 'ANSWER_TIMEOUT_MS' | 'SEARCH_TIMEOUT_MS'>;

/** Which settings hold each queue's job timeout and per-worker concurrency. */
const QUEUE_SETTINGS = {
  ingest: { timeout: 'INGEST_TIMEOUT_MS', concurrency: 'INGEST_CONCURRENCY' },
  remove: { timeout: 'REMOVE_TIMEOUT_MS', concurrency: 'REMOVE_CONCURRENCY' },
  search: { timeout: 'SEARCH_TIMEOUT_MS', concurrency: 'SEARCH_CONCURRENCY' },
  answer: { timeout: 'ANSWER_TIMEOUT_MS', concurrency: 'ANSWER_CONCURRENCY' },
} as const satisfies Record<QueueName, { timeout: keyof Config; concurrency: keyof Config }>;

export function jobTimeoutMs(config: JobPolicyConfig, queue: QueueName): number {
  return config[QUEUE_SETTINGS[queue].timeout];
}

/** Jobs of one queue a worker runs at once (INGEST_CONCURRENCY etc.). */
export function queueConcurrency(config: Pick<Config, 'INGEST_CONCURRENCY' | 'REMOVE_CONCURRENCY' | 'SEARCH_CONCURRENCY' | 'ANSWER_CONCURRENCY'>, queue: QueueName): number {
  return config[QUEUE_SETTINGS[queue].concurrency];
}

export async function enqueue<T>(queue: Queue<T>, config: JobPolicyConfig, jobId: string, data: T): Promise<{ queue: string; id: string }> {
  const name = queue.name as QueueName;
  const job = queue.createJob(data).setId(jobId).timeout(jobTimeoutMs(config, name));
  if (name !== 'search') job.retries(config.JOB_ATTEMPTS - 1).backoff(JITTERED_BACKOFF, config.JOB_BACKOFF_MS);
  await saveOrUnavailable(queue, job);
  return { queue: name, id: jobId };
}

/**
 * Saves a job, or fails with a 503 when Redis cannot take it: at once when the connection is known
 * to be down, after SAVE_TIMEOUT_MS when it does not answer. Reloads Bee-Queue's scripts on NOSCRIPT.
 */
export async function saveOrUnavailable<T>(queue: Queue<T>, job: Queue.Job<T>): Promise<void> {
  const unavailable = `queue ${queue.name} did not accept the job: Redis is unavailable`;
  ensureQueueConnected(queue as Queue<unknown>, unavailable);
  await withTimeout(saveJob(queue as Queue<unknown>, job), SAVE_TIMEOUT_MS, unavailable);
}

/**
 * Throws a 503 at once when the queue's connection is known to be down or still reconnecting, rather
 * than parking the command in node_redis's offline queue (it would run, late, once Redis is back). A
 * connection that looks up but does not answer (a frozen Redis) is left to the caller's timeout.
 */
export function ensureQueueConnected(queue: Queue<unknown>, message: string): void {
  if (beeClients(queue).client?.ready === false) throw new UpstreamUnavailableError(message);
}

/**
 * Exponential backoff with jitter: the delay doubles after each retry (as Bee-Queue's 'exponential'
 * does, by updating the stored delay) and each wait is drawn from [delay/2, delay].
 */
export function jitteredBackoff(job: { options: { backoff: { delay: number } } }): number {
  const delay = job.options.backoff.delay;
  job.options.backoff.delay = delay * 2;
  return Math.round(delay / 2 + Math.random() * (delay / 2));
}
