/** Worker entry: startServices, then the processors; SIGTERM closes everything and exits 0. */
import { loadConfigOrExit } from '../../shared/src/config.js';
import { createLogger, serializeError } from '../../shared/src/logger.js';
import { startServices } from './services.js';
import { registerProcessors } from './processors/register.js';
import { startSweeper } from './sweeper.js';

const config = loadConfigOrExit();
try {
  const services = await startServices(config);
  registerProcessors(services);
  const sweeper = startSweeper(services);
  services.logger.info('worker ready', { workerId: services.workerId, ...services.index.stats() });
  let isClosing = false;
  const shutdown = (signal: string) => {
    if (isClosing) return;
    isClosing = true;
    services.logger.info('worker stopping', { signal });
    sweeper.close();
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
} catch (err) {
  createLogger(config, 'worker').error('worker start failed', { err: serializeError(err) });
  process.exit(1);
}
