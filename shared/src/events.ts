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
  const st = openEventsState(config, role, logger);
  const { pub, channels } = st;
  watchConnections(st);
  return {
    publish: (sessionId, event) => publishRaw(pub, `${channels.sessionPrefix}${sessionId}`, event),
    subscribe: (sessionId, listener) => subscribeSession(st, sessionId, listener),
    ready: () => (st.isSubscribed ? Promise.resolve() : new Promise<void>((resolve) => st.waiters.push(resolve))),
    async requestCancel(jobId) {
      await withTimeout(pub.set(channels.cancelFlag(jobId), '1', 'PX', CANCEL_FLAG_TTL_MS), PUBLISH_TIMEOUT_MS, 'redis did not take the cancel');
      await publishRaw(pub, channels.cancel, { jobId });
    },
    async isCancelRequested(jobId) {
      return (await withTimeout(pub.exists(channels.cancelFlag(jobId)), PUBLISH_TIMEOUT_MS, 'redis did not answer')) === 1;
    },
    onCancel(listener) {
      st.cancelListeners.add(listener);
      return () => st.cancelListeners.delete(listener);
    },
    close: () => closeEvents(st),
  };
}

interface Channels {
  /** A session's channel is this prefix and its id. */
  sessionPrefix: string;
  cancel: string;
  cancelFlag(jobId: string): string;
}

/** What one process's events share: its two connections, its local listeners and the subscription's state. */
interface EventsState {
  readonly role: Role;
  readonly logger: Logger;
  readonly channels: Channels;
  readonly pub: Redis;
  readonly sub: Redis;
  readonly sessionListeners: Map<string, Set<SessionListener>>;
  readonly cancelListeners: Set<(jobId: string) => void>;
  isSubscribed: boolean;
  hasSubscribedBefore: boolean;
  isClosing: boolean;
  waiters: Array<() => void>;
}

function openEventsState(config: EventsConfig, role: Role, logger: Logger): EventsState {
  const prefix = config.QUEUE_PREFIX;
  const channels: Channels = {
    sessionPrefix: `${prefix}:chat:`,
    cancel: `${prefix}:answer-cancel`,
    cancelFlag: (jobId) => `${prefix}:answer-cancel:${jobId}`,
  };
  return {
    role,
    logger,
    channels,
    pub: createRedisClient(config, `colmeia-${role}-events-pub-${process.pid}`),
    sub: createRedisClient(config, `colmeia-${role}-events-sub-${process.pid}`),
    sessionListeners: new Map(),
    cancelListeners: new Set(),
    isSubscribed: false,
    hasSubscribedBefore: false,
    isClosing: false,
    waiters: [],
  };
}

function watchConnections(st: EventsState): void {
  const { pub, sub, logger, channels } = st;
  pub.on('error', (err) => logger.warn('redis events publisher error', { err: serializeError(err) }));
  sub.on('error', (err) => logger.warn('redis events subscriber error', { err: serializeError(err) }));
  sub.on('close', () => {
    st.isSubscribed = false;
  });
  // ioredis re-subscribes by itself after a reconnect but tells nobody when Redis confirmed it; we
  // subscribe again (idempotent in Redis) and announce the resync once our own confirmation arrives.
  sub.on('ready', () => resubscribe(st));
  sub.on('pmessage', (_pattern: string, channel: string, raw: string) => {
    const listeners = st.sessionListeners.get(channel.slice(channels.sessionPrefix.length));
    if (!listeners || listeners.size === 0) return;
    const event = decode(logger, ChatEvent, raw, channel);
    if (event) for (const listener of [...listeners]) deliver(logger, listener, event);
  });
  sub.on('message', (channel: string, raw: string) => {
    if (channel !== channels.cancel) return;
    const event = decode(logger, CancelEvent, raw, channel);
    if (event) for (const listener of [...st.cancelListeners]) listener(event.jobId);
  });
}

function resubscribe(st: EventsState): void {
  const { sub, logger, channels } = st;
  const confirm = st.role === 'api' ? sub.psubscribe(`${channels.sessionPrefix}*`) : sub.subscribe(channels.cancel);
  confirm.then(
    () => {
      st.isSubscribed = true;
      for (const wake of st.waiters.splice(0)) wake();
      if (st.hasSubscribedBefore) {
        logger.info('redis events subscription restored: streams resync');
        for (const listeners of st.sessionListeners.values()) for (const listener of listeners) deliver(logger, listener, { type: 'resync' });
      }
      st.hasSubscribedBefore = true;
    },
    (err: unknown) => logger.warn('redis events subscribe failed; retried on reconnect', { err: serializeError(err) }),
  );
}

function decode<S extends z.ZodType>(logger: Logger, schema: S, raw: string, channel: string): z.infer<S> | undefined {
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

function deliver(logger: Logger, listener: SessionListener, signal: SessionSignal): void {
  try {
    listener(signal);
  } catch (err) {
    logger.error('event listener failed', { err: serializeError(err) });
  }
}

async function publishRaw(pub: Redis, channel: string, payload: unknown): Promise<void> {
  await withTimeout(pub.publish(channel, JSON.stringify(payload)), PUBLISH_TIMEOUT_MS, 'redis did not take the event');
}

function subscribeSession(st: EventsState, sessionId: string, listener: SessionListener): () => void {
  if (st.role !== 'api') throw new Error('only web processes subscribe to sessions');
  const { sessionListeners } = st;
  const listeners = sessionListeners.get(sessionId) ?? new Set<SessionListener>();
  listeners.add(listener);
  sessionListeners.set(sessionId, listeners);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && sessionListeners.get(sessionId) === listeners) sessionListeners.delete(sessionId);
  };
}

async function closeEvents(st: EventsState): Promise<void> {
  if (st.isClosing) return;
  st.isClosing = true;
  st.sessionListeners.clear();
  st.cancelListeners.clear();
  st.waiters = [];
  await Promise.allSettled([quit(st.sub), quit(st.pub)]);
}

/** QUIT lets queued publishes go out first; a Redis that is away gets a plain disconnect. */
async function quit(client: Redis): Promise<void> {
  try {
    await withTimeout(client.quit(), CLOSE_TIMEOUT_MS, 'redis did not answer QUIT');
  } catch {
    client.disconnect();
  }
}
