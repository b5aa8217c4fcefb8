/** Worker entry: startServices, then the processors; SIGTERM closes everything and exits 0. */
import { loadConfigOrExit } from '../../shared/src/config.js';
import { createLogger, serializeError } from '../../shared/src/logger.js';
import { startServices } from './services.js';
import { registerProcessors } from './processors/register.js';
import { startSweeper } from './sweeper.js';
import { queueList } from '../../shared/src/queue/queues.js';
import { queueConcurrency } from '../../shared/src/queue/enqueue.js';
import type { QueueName } from '../../shared/src/jobs/job-result.js';
import { startQueueWatchdog } from '../../shared/src/queue/queue-watchdog.js';

const config = loadConfigOrExit();
try {
  const services = await startServices(config);
  registerProcessors(services);
  const sweeper = startSweeper(services);
  const { jobStats } = services;
  const watchdog = startQueueWatchdog({
    queues: queueList(services.queues),
    logger: services.logger,
    intervalMs: config.WATCHDOG_INTERVAL_MS,
    prefix: config.QUEUE_PREFIX,
    redis: [services.redis],
    taker: (queue) => ({
      hasFreeSlot: jobStats.active(queue.name) < queueConcurrency(config, queue.name as QueueName),
      lastStartedAt: jobStats.lastStartedAt(queue.name),
    }),
  });
  services.logger.info('worker ready', { workerId: services.workerId, ...services.index.stats() });
  let isClosing = false;
  const shutdown = (signal: string) => {
    if (isClosing) return;
    isClosing = true;
    services.logger.info('worker stopping', { signal });
    sweeper.close();
    watchdog.close();
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
