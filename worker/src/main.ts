/** Worker entry: startServices, then the processors; SIGTERM closes everything and exits. */
import { loadConfigOrExit } from '../../shared/src/config.js';
import { createLogger, serializeError } from '../../shared/src/logger.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import { startServices } from './services.js';
import { registerProcessors } from './processors/register.js';

const config = loadConfigOrExit();
try {
  const services = await startServices(config);
  registerProcessors(services);
  let isClosing = false;
  const shutdown = (reason: string) => {
    if (isClosing) return;
    isClosing = true;
    services.logger.info('worker stopping', { reason });
    services
      .close()
      .then(() => {
        services.logger.info('worker stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        services.logger.error('worker stop failed', { err: serializeError(err) });
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Announced only once the handlers are in: stdout to a pipe is synchronous, so whoever waits for
  // this line may signal at once, and a SIGTERM before process.on would kill without a checkpoint.
  services.logger.info('worker ready', { workerId: services.workerId, ...services.indexes.stats()[DEFAULT_COLLECTION], collections: services.indexes.stats() });
} catch (err) {
  createLogger(config, 'worker').error('worker start failed', { err: serializeError(err) });
  process.exit(1);
}
