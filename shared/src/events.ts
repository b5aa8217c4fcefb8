/**
 * Cross-process push over Redis pub/sub. Pub/sub is at-most-once, so it only
 * ever announces what is already stored: the writer stores, then publishes; readers subscribe
 * first, then replay from SQL, and drop duplicates by message id.
 *
 * Each process has one publishing connection. A web process also has one subscriber connection,
 * pattern-subscribed once to every session's channel, that fans events out to local listeners;
 * whenever that subscription is (re)established after a gap, every listener gets `resync`, so a
 * stream can replay what the gap may have swallowed. A worker's subscriber hears answer cancels.
 * Cancels also leave a flag in Redis, so a job that starts after the publish still sees it.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from './config.js';
import { withTimeout } from './time-limits.js';
import type { Logger } from './logger.js';
import { serializeError } from './logger.js';
import type { Role } from './process-role.js';
import { createRedisClient } from './queue/redis-client.js';

const PUBLISH_TIMEOUT_MS = 1_000;
const CANCEL_FLAG_TTL_MS = 24 * 60 * 60 * 1_000;
const CLOSE_TIMEOUT_MS = 1_000;

const ChatMessageEvent = z.object({
  id: z.number().int().positive(),
  sessionId: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  replyTo: z.number().int().positive().nullable(),
  createdAt: z.string(),
});

const JobRef = { replyTo: z.number().int().positive(), jobId: z.string(), attempt: z.number().int().positive() };

/** What travels on a session's channel. Only `message` is durable; the rest may be lost. */
export const ChatEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message'), message: ChatMessageEvent, prevId: z.number().int().nonnegative() }),
  z.object({ type: z.literal('delta'), ...JobRef, index: z.number().int().nonnegative(), text: z.string() }),
  z.object({ type: z.literal('progress'), ...JobRef, stage: z.enum(['retrieving', 'generating']), elapsedMs: z.number().nonnegative() }),
  z.object({ type: z.literal('error'), ...JobRef, code: z.string(), message: z.string(), willRetry: z.boolean() }),
]);
export type ChatEvent = z.infer<typeof ChatEvent>;

const CancelEvent = z.object({ jobId: z.string() });

/** A local listener gets the session's events, or `resync`: events may have been lost, replay from SQL. */
export type SessionSignal = ChatEvent | { type: 'resync' };
export type SessionListener = (signal: SessionSignal) => void;

export interface Events {
  /** Publishes on the session's channel; rejects when Redis does not take it within a second. */
  publish(sessionId: string, event: ChatEvent): Promise<void>;
  /** Web only: registers a local listener at once (no Redis round trip); returns its unsubscribe. */
  subscribe(sessionId: string, listener: SessionListener): () => void;
  /** Resolves once the subscriber connection's subscription is confirmed by Redis. */
  ready(): Promise<void>;
  /** Sets the job's cancel flag, then tells every worker. */
  requestCancel(jobId: string): Promise<void>;
  isCancelRequested(jobId: string): Promise<boolean>;
  /** Worker only: called with the job id of every cancel published; returns its unsubscribe. */
  onCancel(listener: (jobId: string) => void): () => void;
  close(): Promise<void>;
}

export type EventsConfig = Pick<Config, 'REDIS_URL' | 'REDIS_TLS_REJECT_UNAUTHORIZED' | 'QUEUE_PREFIX'>;

export function createEvents(config: EventsConfig, role: Role, logger: Logger): Events {
  const prefix = config.QUEUE_PREFIX;
  const sessionChannelPrefix = `${prefix}:chat:`;
  const cancelChannel = `${prefix}:answer-cancel`;
  const cancelFlag = (jobId: string) => `${prefix}:answer-cancel:${jobId}`;
  const pub = createRedisClient(config, `colmeia-${role}-events-pub-${process.pid}`);
  const sub = createRedisClient(config, `colmeia-${role}-events-sub-${process.pid}`);
  const sessionListeners = new Map<string, Set<SessionListener>>();
  const cancelListeners = new Set<(jobId: string) => void>();
  let isSubscribed = false;
  let hasSubscribedBefore = false;
  let isClosing = false;
  let waiters: Array<() => void> = [];

  pub.on('error', (err) => logger.warn('redis events publisher error', { err: serializeError(err) }));
  sub.on('error', (err) => logger.warn('redis events subscriber error', { err: serializeError(err) }));
  sub.on('close', () => {
    isSubscribed = false;
  });
  // ioredis re-subscribes by itself after a reconnect but tells nobody when Redis confirmed it; we
  // subscribe again (idempotent in Redis) and announce the resync once our own confirmation arrives.
  sub.on('ready', () => {
    const confirm = role === 'api' ? sub.psubscribe(`${sessionChannelPrefix}*`) : sub.subscribe(cancelChannel);
    confirm.then(
      () => {
        isSubscribed = true;
        for (const wake of waiters.splice(0)) wake();
        if (hasSubscribedBefore) {
          logger.info('redis events subscription restored: streams resync');
          for (const listeners of sessionListeners.values()) for (const listener of listeners) deliver(listener, { type: 'resync' });
        }
        hasSubscribedBefore = true;
      },
      (err: unknown) => logger.warn('redis events subscribe failed; retried on reconnect', { err: serializeError(err) }),
    );
  });
  sub.on('pmessage', (_pattern: string, channel: string, raw: string) => {
    const listeners = sessionListeners.get(channel.slice(sessionChannelPrefix.length));
    if (!listeners || listeners.size === 0) return;
    const event = decode(ChatEvent, raw, channel);
    if (event) for (const listener of [...listeners]) deliver(listener, event);
  });
  sub.on('message', (channel: string, raw: string) => {
    if (channel !== cancelChannel) return;
    const event = decode(CancelEvent, raw, channel);
    if (event) for (const listener of [...cancelListeners]) listener(event.jobId);
  });

  function decode<S extends z.ZodType>(schema: S, raw: string, channel: string): z.infer<S> | undefined {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    logger.warn('malformed event dropped', { channel, bytes: raw.length });
    return undefined;
  }

  function deliver(listener: SessionListener, signal: SessionSignal): void {
    try {
      listener(signal);
    } catch (err) {
      logger.error('event listener failed', { err: serializeError(err) });
    }
  }

  async function publishRaw(channel: string, payload: unknown): Promise<void> {
    await withTimeout(pub.publish(channel, JSON.stringify(payload)), PUBLISH_TIMEOUT_MS, 'redis did not take the event');
  }

  return {
    publish: (sessionId, event) => publishRaw(`${sessionChannelPrefix}${sessionId}`, event),
    subscribe(sessionId, listener) {
      if (role !== 'api') throw new Error('only web processes subscribe to sessions');
      const listeners = sessionListeners.get(sessionId) ?? new Set<SessionListener>();
      listeners.add(listener);
      sessionListeners.set(sessionId, listeners);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && sessionListeners.get(sessionId) === listeners) sessionListeners.delete(sessionId);
      };
    },
    ready: () => (isSubscribed ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    async requestCancel(jobId) {
      await withTimeout(pub.set(cancelFlag(jobId), '1', 'PX', CANCEL_FLAG_TTL_MS), PUBLISH_TIMEOUT_MS, 'redis did not take the cancel');
      await publishRaw(cancelChannel, { jobId });
    },
    async isCancelRequested(jobId) {
      return (await withTimeout(pub.exists(cancelFlag(jobId)), PUBLISH_TIMEOUT_MS, 'redis did not answer')) === 1;
    },
    onCancel(listener) {
      cancelListeners.add(listener);
      return () => cancelListeners.delete(listener);
    },
    async close() {
      if (isClosing) return;
      isClosing = true;
      sessionListeners.clear();
      cancelListeners.clear();
      waiters = [];
      await Promise.allSettled([quit(sub), quit(pub)]);
    },
  };
}

/** QUIT lets queued publishes go out first; a Redis that is away gets a plain disconnect. */
async function quit(client: Redis): Promise<void> {
  try {
    await withTimeout(client.quit(), CLOSE_TIMEOUT_MS, 'redis did not answer QUIT');
  } catch {
    client.disconnect();
  }
}
