/**
 * Web entry: config, logger, db (+migrate), queues, events, createApp, listen. SIGTERM stops accepting,
 * ends open SSE streams (their clients reconnect elsewhere with Last-Event-ID), finishes in-flight
 * requests, exits 0.
 */
import type { AddressInfo } from 'node:net';
import { loadConfigOrExit } from '../../shared/src/config.js';
import { createLogger, serializeError } from '../../shared/src/logger.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { closeQueues, createQueues, queueList } from '../../shared/src/queue/queues.js';
import { startQueueWatchdog } from '../../shared/src/queue/queue-watchdog.js';
import { checkEvictionPolicy } from '../../shared/src/queue/check-eviction-policy.js';
import { createRedisClient } from '../../shared/src/queue/redis-client.js';
import { createEvents } from '../../shared/src/events.js';
import { createRequestSchemas } from '../../shared/src/request-schemas.js';
import { createApp } from './app.js';
import { JobRunner } from './http/run-job.js';
import { clientErrorHandler } from './http/errors.js';
import { createSseRegistry } from './http/sse.js';

const config = loadConfigOrExit();
const logger = createLogger(config, 'web');
try {
  const db = await openDatabase(config, logger);
  const queues = createQueues(config, 'api');
  for (const queue of Object.values(queues)) {
    queue.on('error', (err: Error) => logger.warn('queue error', { queue: queue.name, err: serializeError(err) }));
  }
  const redis = createRedisClient(config, `colmeia-web-${process.pid}`);
  redis.on('error', (err) => logger.warn('redis error', { err: serializeError(err) }));
  void checkEvictionPolicy(redis, logger); // warns when Redis may evict job hashes; never blocks start-up
  // Pings the queues' connections and reopens silent ones (a half-open search-events connection would turn every search into a 504).
  const watchdog = startQueueWatchdog({ queues: queueList(queues), logger, intervalMs: config.WATCHDOG_INTERVAL_MS, prefix: config.QUEUE_PREFIX, redis: [redis] });
  const events = createEvents(config, 'api', logger);
  const sse = createSseRegistry();
  const app = createApp({ config, logger, db, redis, queues, events, sse, searchRunner: new JobRunner(queues.search), schemas: createRequestSchemas(config) });
  const server = app.listen(config.PORT, () => {
    // Keys are never logged: only how many there are (0 = authentication off).
    logger.info('web ready', { port: (server.address() as AddressInfo).port, apiKeys: config.API_KEYS.length, trustProxy: config.TRUST_PROXY });
  });
  server.on('clientError', clientErrorHandler()); // requests Node's parser refuses still get the JSON error shape
  let isClosing = false;
  const shutdown = (signal: string) => {
    if (isClosing) return;
    isClosing = true;
    logger.info('web stopping', { signal });
    watchdog.close();
    const force = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      void (async () => {
        await closeQueues(queues, 1_000);
        await events.close();
        redis.disconnect();
        await db.destroy();
        logger.info('web stopped');
        process.exit(0);
      })();
    });
    sse.closeAll();
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  logger.error('web start failed', { err: serializeError(err) });
  process.exit(1);
}
