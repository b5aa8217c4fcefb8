/**
 * A cap on open event streams (SSE) per API key, or per client address without keys (OWASP API4):
 * each open stream holds memory, a socket and a pub/sub listener for as long as the client likes.
 * The count lives in Redis so that every web process shares it: one sorted set per key whose
 * members are open streams, scored by an expiry time taken from Redis's own clock (no skew between
 * web hosts). A live stream pushes its expiry forward every REFRESH_MS; a process that dies without
 * closing its streams leaves entries that lapse after STREAM_TTL_MS, so a crash never locks a key out.
 * Over MAX_SSE_STREAMS_PER_KEY: 429 `rate_limited`. Like the rate limiter it fails open: when Redis
 * does not answer the stream is allowed (and logged), since the stream needs Redis pub/sub anyway.
 *
 * Mount it before the SSE handler: `router.get('/chat/sessions/:id/events', streamCap(deps), handler)`.
 * The slot is released when the response closes, whichever side ends it.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import type { Config } from '../../../shared/src/config.js';
import { withTimeout } from '../../../shared/src/time-limits.js';
import { RateLimitedError } from '../../../shared/src/errors.js';
import { serializeError } from '../../../shared/src/logger.js';
import { apiKeyIdOf } from './auth.js';
import { localsOf } from './request-context.js';

const STREAM_TTL_MS = 60_000; // a slot not refreshed for this long is free again
const REFRESH_MS = 20_000;
const REDIS_TIMEOUT_MS = 500;
const RETRY_AFTER_S = 10;

/** Drops lapsed slots, then takes one if fewer than max are held. Returns {taken 0|1, held}. */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[2]) then return {0, held} end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, held + 1}`;

/** Pushes one slot's expiry forward (re-adding it if it lapsed during a Redis outage). */
const REFRESH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1`;

export type StreamCapConfig = Pick<Config, 'MAX_SSE_STREAMS_PER_KEY' | 'QUEUE_PREFIX'>;

export interface StreamCapDeps {
  config: StreamCapConfig;
  redis: Redis;
}

export function streamCap({ config, redis }: StreamCapDeps): RequestHandler {
  const max = config.MAX_SSE_STREAMS_PER_KEY;
  return async (req, res, next) => {
    const keyId = apiKeyIdOf(res);
    const setKey = `${config.QUEUE_PREFIX}:sse-streams:${keyId !== undefined ? `key:${keyId}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`}`;
    const member = randomUUID();
    const { logger } = localsOf(res);
    let isClosed = false;
    let release: (() => void) | undefined;
    res.once('close', () => {
      isClosed = true;
      release?.();
    });
    let reply: unknown;
    try {
      reply = await withTimeout(redis.eval(ACQUIRE, 1, setKey, STREAM_TTL_MS, max, member), REDIS_TIMEOUT_MS, 'redis did not answer');
    } catch (err) {
      logger.warn('stream cap degraded: stream allowed uncounted', { err: serializeError(err) });
      next();
      return;
    }
    const [taken, held] = Array.isArray(reply) ? reply.map(Number) : [];
    if (taken !== 1) {
      res.setHeader('Retry-After', String(RETRY_AFTER_S));
      const message = `at most ${max} event streams may be open at once per API key (MAX_SSE_STREAMS_PER_KEY); ${held ?? max} are open`;
      next(new RateLimitedError(message, [{ path: 'request', rule: 'max_streams', message }]));
      return;
    }
    const refresh = setInterval(() => {
      // A failed refresh only shortens the slot's life to STREAM_TTL_MS; the next one re-adds it.
      redis.eval(REFRESH, 1, setKey, STREAM_TTL_MS, member).catch((err: unknown) => logger.debug('stream slot refresh failed', { err: serializeError(err) }));
    }, REFRESH_MS);
    refresh.unref();
    release = () => {
      release = undefined;
      clearInterval(refresh);
      // If Redis is away the slot lapses by itself after STREAM_TTL_MS.
      redis.zrem(setKey, member).catch((err: unknown) => logger.debug('stream slot release failed', { err: serializeError(err) }));
    };
    if (isClosed) {
      release();
      return;
    }
    next();
  };
}
