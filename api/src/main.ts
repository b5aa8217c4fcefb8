/**
 * Web entry: config, logger, startApiServices, createApp, listen. SIGTERM stops accepting, ends open
 * SSE streams (their clients reconnect elsewhere with Last-Event-ID), finishes in-flight requests,
 * closes the services and exits 0.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfigOrExit } from '../../shared/src/config.js';
import { createLogger, serializeError } from '../../shared/src/logger.js';
import { createApp } from './app.js';
import { clientErrorHandler } from './http/errors.js';
import { startApiServices } from './services.js';

const config = loadConfigOrExit();
const logger = createLogger(config, 'web');
try {
  const services = await startApiServices(config, logger);
  const app = createApp(services);
  const server = createServer({ maxHeaderSize: config.HTTP_MAX_HEADER_BYTES }, app).listen(config.PORT, () => {
    // Keys are never logged: only how many there are (0 = authentication off).
    logger.info('web ready', { port: (server.address() as AddressInfo).port, apiKeys: config.API_KEYS.length, trustProxy: config.TRUST_PROXY });
  });
  server.on('clientError', clientErrorHandler()); // requests Node's parser refuses still get the JSON error shape
  let isClosing = false;
  const shutdown = (signal: string) => {
    if (isClosing) return;
    isClosing = true;
    logger.info('web stopping', { signal });
    const force = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      services
        .close()
        .then(() => {
          logger.info('web stopped');
          process.exit(0);
        })
        .catch((err: unknown) => {
          logger.error('web stop failed', { err: serializeError(err) });
          process.exit(1);
        });
    });
    services.sse.closeAll();
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  logger.error('web start failed', { err: serializeError(err) });
  process.exit(1);
}
