/**
 * Rate limiting (OWASP API4): RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS per API key, or per
 * client address when no keys are configured. Unset, it is 600 in production and off otherwise
 * (rateLimitMaxOf): a first local run loads thousands of files through the scripts; 0 turns it off. Counts live in Redis (rate-limit-redis over our ioredis
 * client), so every web process shares one budget per key; a per-process memory store would multiply
 * it by the number of processes. The address is req.ip, which only honours X-Forwarded-For as far as
 * TRUST_PROXY allows, so a spoofed header opens no new bucket. Over the limit: 429 `rate_limited` with
 * Retry-After. /health is exempt (platform probes).
 *
 * When Redis fails the limiter fails open: the request goes on, and a warn line (at most one per
 * WARN_EVERY_MS) says limiting is off. Reasons: reads (GET /documents, /jobs from SQL) keep working
 * during a Redis outage, and every route that needs Redis answers 503 on its own; a limiter that
 * turned each request into a 503 would make the outage total. Each count is bounded by
 * STORE_TIMEOUT_MS, and after a failure the limiter stays out of the way for a second, so a dead or
 * hung Redis adds that latency to about one request per second per process.
 */
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type Logger as RateLimitLogger, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { rateLimitMaxOf, type Config } from '../../../shared/src/config.js';
import { withTimeout } from '../../../shared/src/time-limits.js';
import { RateLimitedError } from '../../../shared/src/errors.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import { apiKeyIdOf, PUBLIC_PATHS } from './auth.js';

const STORE_TIMEOUT_MS = 500; // event-loop lag under load must not read as a dead Redis
const BYPASS_AFTER_FAILURE_MS = 1_000; // while Redis is down, one request per second pays the timeout
const WARN_EVERY_MS = 10_000;

export type RateLimitConfig = Pick<Config, 'RATE_LIMIT_WINDOW_MS' | 'RATE_LIMIT_MAX' | 'NODE_ENV' | 'QUEUE_PREFIX' | 'TRUST_PROXY' | 'API_KEYS'>;

export function rateLimiter(config: RateLimitConfig, redis: Redis, logger: Logger): RequestHandler {
  const limit = rateLimitMaxOf(config);
  if (limit === 0) return (_req, _res, next) => next();
  if (config.TRUST_PROXY === true && config.API_KEYS.length === 0) {
    logger.warn('rate limit is per client address and TRUST_PROXY=true lets any client choose its address: set the hop count (Heroku: 1)');
  }
  const windowSeconds = Math.ceil(config.RATE_LIMIT_WINDOW_MS / 1000);
  const store = boundedRedisStore(config, redis);
  return rateLimit({
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store,
    passOnStoreError: true,
    logger: throttledLogger(logger),
    skip: (req) => PUBLIC_PATHS.includes(req.path) || store.isBypassed(),
    keyGenerator: (req, res) => {
      const keyId = apiKeyIdOf(res);
      return keyId !== undefined ? `key:${keyId}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
    },
    handler: (_req, res, next) => {
      const retryAfter = res.getHeader('Retry-After');
      const message = `more than ${limit} requests in ${windowSeconds} s (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS); retry after ${String(retryAfter ?? windowSeconds)} s`;
      next(new RateLimitedError(message, [{ path: 'request', rule: 'rate_limit', message }]));
    },
  });
}

/**
 * rate-limit-redis over our ioredis client, with each increment bounded by STORE_TIMEOUT_MS; after
 * a failed increment isBypassed() is true for BYPASS_AFTER_FAILURE_MS. Only increments count as
 * failures: the script load the store starts at construction may time out while the process is
 * still starting, and is retried by the first increment anyway.
 */
function boundedRedisStore(config: RateLimitConfig, redis: Redis): Store & { isBypassed(): boolean } {
  const inner = new RedisStore({
    prefix: `${config.QUEUE_PREFIX}:rate-limit:`,
    sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>, // the store checks the reply's shape
  });
  // A failure of the construction-time script load resurfaces (and is handled) on the first
  // increment, which reloads the script; only the unobserved rejection is silenced here.
  inner.incrementScriptSha.catch(() => undefined);
  inner.getScriptSha.catch(() => undefined);
  let lastFailureAt = -Infinity;
  return {
    prefix: inner.prefix,
    init: (options) => inner.init(options),
    increment: async (key) => {
      try {
        return await withTimeout(inner.increment(key), STORE_TIMEOUT_MS, `redis did not count the request within ${STORE_TIMEOUT_MS} ms`);
      } catch (err) {
        lastFailureAt = Date.now();
        throw err;
      }
    },
    decrement: (key) => inner.decrement(key),
    resetKey: (key) => inner.resetKey(key),
    isBypassed: () => Date.now() - lastFailureAt < BYPASS_AFTER_FAILURE_MS,
  };
}

/**
 * express-rate-limit logs (error, message). Its one-shot configuration checks (ERR_ERL_*, e.g. a
 * permissive trust proxy) are logged as they come; store failures at most once per WARN_EVERY_MS.
 */
function throttledLogger(logger: Logger): RateLimitLogger {
  let lastWarnAt = -Infinity;
  let suppressed = 0;
  const log = (error: unknown, message?: string) => {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && /^(ERR|WRN)_ERL_/.test(code)) {
      logger.warn('rate limiter misconfigured', { code, detail: error instanceof Error ? error.message : String(error) });
      return;
    }
    const now = Date.now();
    if (now - lastWarnAt < WARN_EVERY_MS) {
      suppressed++;
      return;
    }
    lastWarnAt = now;
    logger.warn('rate limiter degraded: requests pass unlimited', { detail: message, suppressed, err: serializeError(error) });
    suppressed = 0;
  };
  return { warn: log, error: log };
}
