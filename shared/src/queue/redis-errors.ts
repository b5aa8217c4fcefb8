/**
 * Tells a Redis connection that failed under a command from a bug: node_redis 3 (Bee-Queue's
 * client) rejects a command in flight when its connection drops (AbortError, "It might have been
 * processed") or is closed; ioredis fails a command after its retries or on a closed connection.
 * The API answers these with a 503 a client may retry, not a 500.
 */
const NODE_REDIS_CODES = new Set(['UNCERTAIN_STATE', 'NR_CLOSED', 'CONNECTION_BROKEN', 'NR_OFFLINE']);
const IOREDIS_MESSAGES = /^(Connection is closed\.|Stream isn't writeable and enableOfflineQueue options is false)/;

export function isRedisUnavailable(err: unknown): boolean {
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if ((current.name === 'AbortError' || current.name === 'AggregateError') && typeof code === 'string' && NODE_REDIS_CODES.has(code)) return true;
    if (current.name === 'MaxRetriesPerRequestError' || IOREDIS_MESSAGES.test(current.message)) return true;
  }
  return false;
}
