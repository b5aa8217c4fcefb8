/**
 * One Bee-Queue connection per queue of the table (jobs/queue-table.ts), for either process type.
 * Bee-Queue gets connection settings, never a client of ours (it speaks node_redis 3 only), and
 * reconnects forever.
 */
import Queue from 'bee-queue';
import type { Config } from '../config.js';
import { QUEUES, QUEUE_NAMES, type PayloadOf, type QueueName } from '../jobs/queue-table.js';
import { JITTERED_BACKOFF, jitteredBackoff } from './enqueue.js';
import { keepQueueScriptsLoaded } from './queue-scripts.js';
import type { Role } from '../process-role.js';

export type Queues = { [N in QueueName]: Queue<PayloadOf<N>> };

export type QueueConfig = Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX' | 'STALL_INTERVAL_MS' | 'REDIS_TLS_REJECT_UNAUTHORIZED' | 'REDIS_KEEPALIVE_MS'>;

export function createQueues(config: QueueConfig, role: Role): Queues {
  const make = <N extends QueueName>(name: N): Queue<PayloadOf<N>> => {
    const queue = new Queue<PayloadOf<N>>(name, queueSettings(config, role, name));
    queue.backoffStrategies.set(JITTERED_BACKOFF, jitteredBackoff);
    keepQueueScriptsLoaded(queue as Queue<unknown>); // Redis forgets them on restart (NOSCRIPT)
    return queue;
  };
  return Object.fromEntries(QUEUE_NAMES.map((name) => [name, make(name)])) as Queues;
}

/** A Bee-Queue Redis key, `<prefix>:<queue>:<suffix>` (Bee-Queue's typings declare a `keyPrefix` its queues do not have). */
export function queueKey(prefix: string, queue: string, suffix: string): string {
  return `${prefix}:${queue}:${suffix}`;
}

export function queueList(queues: Queues): Array<Queue<unknown>> {
  return QUEUE_NAMES.map((name) => queues[name] as Queue<unknown>);
}

/** Closes every queue; active jobs get up to timeoutMs to finish, after that they stall and are retried. */
export async function closeQueues(queues: Queues, timeoutMs: number): Promise<void> {
  await Promise.allSettled(queueList(queues).map((queue) => queue.close(timeoutMs)));
}

/** Bee-Queue reads this setting but its typings omit it. */
type BeeSettings = Queue.QueueSettings & { initialRedisFailureRetryDelay: number };

function queueSettings(config: QueueConfig, role: Role, name: QueueName): BeeSettings {
  const isWorker = role === 'worker';
  return {
    prefix: config.QUEUE_PREFIX,
    redis: redisOptions(config),
    isWorker,
    getEvents: !isWorker && QUEUES[name].policy.isAwaited, // the API listens only where it waits for results
    sendEvents: true,
    storeJobs: false, // results are routed by job id from the queue-level events (run-job.ts)
    activateDelayedJobs: isWorker, // retries with backoff are delayed jobs: someone must activate them
    removeOnSuccess: true, // outcomes live in SQL (the jobs table), not in Redis
    removeOnFailure: false, // failed jobs stay visible and retryable
    stallInterval: config.STALL_INTERVAL_MS,
    // After a lost connection each of a worker's `concurrency` waiting BRPOPLPUSH calls fails, and
    // Bee-Queue doubles one shared delay per failure before retrying them (lib/queue.js _waitForJob):
    // from its default 1 s the 8th search slot would wait 128 s; from 100 ms, under 13 s. The retried
    // call then waits in node_redis's offline queue until Redis is back, so this is no busy loop.
    initialRedisFailureRetryDelay: 100,
  };
}

/**
 * node_redis 3 options: reconnect forever with a capped delay; TLS for rediss:// URLs; TCP keepalive
 * after REDIS_KEEPALIVE_MS idle (node_redis's default delay is the OS's, 2 hours), so a peer that
 * vanished is noticed even by a worker sitting in BRPOPLPUSH. A peer that is alive but silent is the
 * connection watchdog's business (queue-watchdog.ts).
 */
export function redisOptions(config: Pick<Config, 'REDIS_URL' | 'REDIS_TLS_REJECT_UNAUTHORIZED' | 'REDIS_KEEPALIVE_MS'>): Record<string, unknown> {
  const isTls = config.REDIS_URL.startsWith('rediss://');
  return {
    url: config.REDIS_URL,
    retry_strategy: (options: { attempt: number }) => Math.min(options.attempt * 200, 2_000),
    socket_keepalive: true,
    socket_initial_delay: config.REDIS_KEEPALIVE_MS,
    ...(isTls ? { tls: { rejectUnauthorized: config.REDIS_TLS_REJECT_UNAUTHORIZED } } : {}),
  };
}
