/**
 * Puts a job on a queue with the policy of its definition (jobs/<queue>.ts): timeout, attempts and
 * jittered exponential back-off. A save that Redis does not acknowledge quickly fails with a 503;
 * the caller has already stored what the job is about, and the job id is deterministic where a
 * duplicate would be harmful.
 */
import type Queue from 'bee-queue';
import type { Config } from '../config.js';
import { UpstreamUnavailableError } from '../errors.js';
import { QUEUES, type QueueName } from '../jobs/queue-table.js';
import { beeClients } from './bee-clients.js';
import { saveJob } from './queue-scripts.js';
import { withTimeout } from '../time-limits.js';

export const JITTERED_BACKOFF = 'jittered';
const SAVE_TIMEOUT_MS = 1_000;

export async function enqueue<T>(queue: Queue<T>, config: Config, jobId: string, data: T): Promise<{ queue: QueueName; id: string }> {
  const { name, policy } = QUEUES[queue.name as QueueName];
  const job = queue.createJob(data).setId(jobId).timeout(policy.timeoutMs(config));
  const attempts = policy.attempts(config);
  if (attempts > 1) job.retries(attempts - 1).backoff(JITTERED_BACKOFF, policy.backoffMs(config));
  await saveOrUnavailable(queue, job);
  return { queue: name, id: jobId };
}

/**
 * Saves a job, or fails with a 503 when Redis cannot take it: at once when the connection is known
 * to be down, after SAVE_TIMEOUT_MS when it does not answer, or when the connection drops under
 * the command. Reloads Bee-Queue's scripts on NOSCRIPT.
 */
export async function saveOrUnavailable<T>(queue: Queue<T>, job: Queue.Job<T>): Promise<void> {
  const unavailable = `queue ${queue.name} did not accept the job: Redis is unavailable`;
  ensureQueueConnected(queue as Queue<unknown>, unavailable);
  // A connection lost with the command in flight (node_redis: AbortError, "It might have been
  // processed") is Redis being unavailable too; the job id makes the client's retry safe.
  const saved = saveJob(queue as Queue<unknown>, job).catch((err: unknown) => {
    throw new UpstreamUnavailableError(unavailable, undefined, { cause: err });
  });
  await withTimeout(saved, SAVE_TIMEOUT_MS, unavailable);
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
