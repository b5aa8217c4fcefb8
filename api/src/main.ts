/** Web entry: config, logger, db (+migrate), queues, createApp, listen; SIGTERM stops accepting, finishes in-flight requests, exits 0. */
import type { AddressInfo } from 'node:net';
import { loadConfigOrExit } from '../../shared/src/config.js';
import { createLogger, serializeError } from '../../shared/src/logger.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { closeQueues, createQueues } from '../../shared/src/queues.js';
import { createRedisClient } from '../../shared/src/redis-client.js';
import { createRequestSchemas } from '../../shared/src/request-schemas.js';
import { createApp } from './app.js';
import { JobRunner } from './http/run-job.js';

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
  const app = createApp({ config, logger, db, redis, queues, searchRunner: new JobRunner(queues.search), schemas: createRequestSchemas(config) });
  const server = app.listen(config.PORT, () => {
    logger.info('web ready', { port: (server.address() as AddressInfo).port });
  });
  let isClosing = false;
  const shutdown = (signal: string) => {
    if (isClosing) return;
    isClosing = true;
    logger.info('web stopping', { signal });
    const force = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      void (async () => {
        await closeQueues(queues, 1_000);
        redis.disconnect();
        await db.destroy();
        logger.info('web stopped');
        process.exit(0);
      })();
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  logger.error('web start failed', { err: serializeError(err) });
  process.exit(1);
}
