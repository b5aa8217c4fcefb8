/**
 * startApiServices(config): the web process's composition root. It holds no index and no embedder:
 * a database, queues, Redis, the search job runner, the open SSE streams and the connection
 * watchdog, with one close() that stops them in reverse. main.ts and the tests build the app from it.
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/src/config.js';
import { serializeError, type Logger } from '../../shared/src/logger.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { closeQueues, createQueues, queueList, type Queues } from '../../shared/src/queue/queues.js';
import { startQueueWatchdog } from '../../shared/src/queue/queue-watchdog.js';
import { checkEvictionPolicy } from '../../shared/src/queue/check-eviction-policy.js';
import { createRedisClient } from '../../shared/src/queue/redis-client.js';
import { createEvents, type Events } from '../../shared/src/events.js';
import type { SearchJob } from '../../shared/src/jobs/search.js';
import { createDocumentWriteGroups, type DocumentWriteGroups } from './http/document-write-groups.js';
import { createRequestSchemas, type RequestSchemas } from './http/request-schemas.js';
import { JobRunner } from './http/run-job.js';
import { createSseRegistry, type SseRegistry } from './http/sse.js';

export interface ApiServices {
  config: Config;
  logger: Logger;
  db: Knex;
  redis: Redis;
  queues: Queues;
  events: Events; // publishes questions and cancels; one subscriber fans session events out to SSE streams
  sse: SseRegistry; // open SSE streams, ended on SIGTERM
  searchRunner: JobRunner<SearchJob>;
  documentWrites: DocumentWriteGroups; // single POST /documents writes, grouped when they arrive together
  schemas: RequestSchemas;
}

export interface StartedApiServices extends ApiServices {
  close(): Promise<void>;
}

const QUEUE_CLOSE_TIMEOUT_MS = 1_000; // the web runs no jobs: nothing to wait for

export async function startApiServices(config: Config, logger: Logger): Promise<StartedApiServices> {
  const db = await openDatabase(config, logger);
  const queues = createQueues(config, 'api');
  for (const queue of queueList(queues)) {
    queue.on('error', (err: Error) => logger.warn('queue error', { queue: queue.name, err: serializeError(err) }));
  }
  const redis = createRedisClient(config, `colmeia-web-${process.pid}`);
  redis.on('error', (err) => logger.warn('redis error', { err: serializeError(err) }));
  void checkEvictionPolicy(redis, logger); // warns when Redis may evict job hashes; never blocks start-up
  // Pings the queues' connections and reopens silent ones (a half-open search-events connection would turn every search into a 504).
  const watchdog = startQueueWatchdog({
    queues: queueList(queues),
    logger,
    intervalMs: config.WATCHDOG_INTERVAL_MS,
    prefix: config.QUEUE_PREFIX,
    redis: [redis],
  });
  const events = createEvents(config, 'api', logger);
  const sse = createSseRegistry();
  const close = async () => {
    watchdog.close();
    sse.closeAll();
    await closeQueues(queues, QUEUE_CLOSE_TIMEOUT_MS);
    await events.close();
    redis.disconnect();
    await db.destroy();
  };
  const documentWrites = createDocumentWriteGroups({ db, queues, config, logger });
  const searchRunner = new JobRunner(queues.search);
  return { config, logger, db, redis, queues, events, sse, searchRunner, documentWrites, schemas: createRequestSchemas(config), close };
}
