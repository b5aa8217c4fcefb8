/** Our own Redis connections (ioredis): heartbeats, status, pub/sub. Bee-Queue opens its own. */
import { Redis } from 'ioredis';
import type { Config } from '../config.js';

export function createRedisClient(config: Pick<Config, 'REDIS_URL' | 'REDIS_TLS_REJECT_UNAUTHORIZED'>, name: string): Redis {
  const isTls = config.REDIS_URL.startsWith('rediss://');
  return new Redis(config.REDIS_URL, {
    connectionName: name,
    lazyConnect: false,
    maxRetriesPerRequest: 1, // a command fails fast while Redis is away; the connection itself keeps retrying
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    keepAlive: 10_000,
    ...(isTls ? { tls: { rejectUnauthorized: config.REDIS_TLS_REJECT_UNAUTHORIZED } } : {}),
  });
}
