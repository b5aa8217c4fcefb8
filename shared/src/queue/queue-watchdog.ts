/**
 * Watches the Redis connections of Bee-Queue queues and reopens the ones that are stuck.
 * node_redis reconnects by itself when a socket closes, but
 * a half-open connection (the peer vanished or froze without a FIN) leaves a worker blocked in
 * BRPOPLPUSH forever: TCP keepalive (queues.ts) notices a vanished host, nothing notices a silent one.
 * Every intervalMs, per queue:
 * - ping the command and pub/sub connections; two silent pings in a row → destroy all the queue's
 *   sockets, so node_redis opens new ones (Bee-Queue re-issues its BRPOPLPUSH after an error);
 * - worker only (`taker`): jobs waiting while this worker has a free slot and started nothing for a
 *   whole interval → the blocking connection is deaf: destroy that socket alone;
 * - worker only: delayed jobs exist → publish `earlierDelayed`, so a raise of due retries that failed
 *   while Redis was away (Bee-Queue then waits up to 20 min for its next timer) happens now.
 * Our own ioredis clients (heartbeats, progress) get the same ping test and are reconnected alike:
 * ioredis has no command timeout, so on a half-open socket its commands would wait forever.
 * Connection losses and recoveries are logged once each, with how long the queue was down.
 */
import type Queue from 'bee-queue';
import type { Redis } from 'ioredis';
import { beeClients, pingClient, type NodeRedisClient } from './bee-clients.js';
import { withTimeout } from '../time-limits.js';
import { serializeError, type Logger } from '../logger.js';

export interface QueueWatchdogOptions {
  queues: Array<Queue<unknown>>;
  logger: Logger;
  intervalMs: number;
  prefix: string; // QUEUE_PREFIX, for the earlierDelayed channel
  redis?: Redis[]; // our ioredis clients: pinged, and reconnected when silent
  /** Worker only: can this queue take a job now, and when did it last start one (epoch ms)? */
  taker?: (queue: Queue<unknown>) => { hasFreeSlot: boolean; lastStartedAt: number };
}

interface QueueState {
  downSince: number; // 0 = up
  silentPings: number;
  lastKickAt: number;
  idleWithWorkSince: number; // 0 = not observed
}

const SILENT_PINGS_BEFORE_KICK = 2;
const KICK_COOLDOWN_INTERVALS = 3;

export function startQueueWatchdog(options: QueueWatchdogOptions): { close(): void } {
  const states = new Map<Queue<unknown>, QueueState>(
    options.queues.map((queue) => [queue, { downSince: 0, silentPings: 0, lastKickAt: 0, idleWithWorkSince: 0 }]),
  );
  const redisStates = new Map((options.redis ?? []).map((client) => [client, { silentPings: 0, lastKickAt: 0 }]));
  let isChecking = false;
  const tick = async () => {
    if (isChecking) return;
    isChecking = true;
    try {
      await Promise.all([
        ...[...states].map(([queue, state]) => checkQueue(options, queue, state)),
        ...[...redisStates].map(([client, state]) => checkRedis(options, client, state)),
      ]);
    } finally {
      isChecking = false;
    }
  };
  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}

async function checkQueue(options: QueueWatchdogOptions, queue: Queue<unknown>, state: QueueState): Promise<void> {
  const { logger, intervalMs } = options;
  const { client, bclient, eclient } = beeClients(queue);
  if (queue.paused || client === undefined) return; // closing, or not connected for the first time yet
  const now = Date.now();
  if (!client.connected) {
    markDown(logger, queue, state, now, 'node_redis is reconnecting');
    return;
  }
  const timeoutMs = Math.min(3_000, intervalMs);
  const pinged = [client, ...(eclient ? [eclient] : [])];
  const answered = (await Promise.all(pinged.map((c) => pingClient(c, timeoutMs)))).every(Boolean);
  if (!answered) {
    state.silentPings += 1;
    markDown(logger, queue, state, now, 'Redis does not answer PING');
    if (state.silentPings >= SILENT_PINGS_BEFORE_KICK && now - state.lastKickAt >= KICK_COOLDOWN_INTERVALS * intervalMs) {
      kick(logger, queue, state, now, [client, bclient, eclient], 'connections silent: reopening them');
    }
    return;
  }
  state.silentPings = 0;
  if (state.downSince !== 0) {
    logger.info('queue connection back', { queue: queue.name, downMs: now - state.downSince });
    state.downSince = 0;
  }
  if (options.taker === undefined) return;
  try {
    const counts = await withTimeout(queue.checkHealth(), timeoutMs, 'redis did not answer the queue counts');
    checkTaker(options, queue, state, now, counts.waiting, bclient);
    if (counts.delayed > 0) await publish(client, `${options.prefix}:${queue.name}:earlierDelayed`, String(now));
  } catch (err) {
    logger.debug('queue watchdog check failed', { queue: queue.name, err: serializeError(err) });
  }
}

async function checkRedis(options: QueueWatchdogOptions, client: Redis, state: { silentPings: number; lastKickAt: number }): Promise<void> {
  if (client.status !== 'ready') return; // ioredis is (re)connecting on its own
  const timeoutMs = Math.min(3_000, options.intervalMs);
  const answered = await withTimeout(client.ping(), timeoutMs, 'no PONG').then(
    () => true,
    () => false,
  );
  if (answered) {
    state.silentPings = 0;
    return;
  }
  state.silentPings += 1;
  const now = Date.now();
  if (state.silentPings >= SILENT_PINGS_BEFORE_KICK && now - state.lastKickAt >= KICK_COOLDOWN_INTERVALS * options.intervalMs) {
    options.logger.warn('redis connection stuck', { connection: client.options.connectionName ?? 'redis', reason: 'Redis does not answer PING: reconnecting' });
    state.lastKickAt = now;
    state.silentPings = 0;
    client.disconnect(true);
  }
}

/** Waiting jobs, a free slot here and no job started for a whole interval: our BRPOPLPUSH is not being served. */
function checkTaker(
  options: QueueWatchdogOptions,
  queue: Queue<unknown>,
  state: QueueState,
  now: number,
  waiting: number,
  bclient: NodeRedisClient | undefined,
): void {
  const taker = options.taker?.(queue);
  if (taker === undefined || waiting === 0 || !taker.hasFreeSlot || bclient === undefined) {
    state.idleWithWorkSince = 0;
    return;
  }
  if (state.idleWithWorkSince === 0 || taker.lastStartedAt >= state.idleWithWorkSince) {
    state.idleWithWorkSince = now; // start (or restart) watching
    return;
  }
  if (now - state.idleWithWorkSince >= options.intervalMs) {
    kick(options.logger, queue, state, now, [bclient], `${waiting} jobs waiting while this worker had a free slot: reopening its blocking connection`);
    state.idleWithWorkSince = 0;
  }
}

function kick(logger: Logger, queue: Queue<unknown>, state: QueueState, now: number, clients: Array<NodeRedisClient | undefined>, reason: string): void {
  logger.warn('queue connection stuck', { queue: queue.name, reason });
  state.lastKickAt = now;
  state.silentPings = 0;
  for (const client of clients) client?.stream.destroy(); // node_redis sees 'close' and reconnects
}

function markDown(logger: Logger, queue: Queue<unknown>, state: QueueState, now: number, reason: string): void {
  if (state.downSince !== 0) return;
  state.downSince = now;
  logger.warn('queue connection lost', { queue: queue.name, reason });
}

function publish(client: NodeRedisClient, channel: string, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.publish(channel, message, (err) => (err ? reject(err) : resolve()));
  });
}
