/**
 * startServices(config): the one composition root of the worker. It builds every part in
 * dependency order, starts the heartbeat, the sweeper, the log compactor and the connection watchdog, and returns them
 * with one close() that stops everything in reverse. Every processor receives what it needs from
 * here; nothing is configured on first use, and nothing here ends the process: a part that can no
 * longer serve resolves `failure`, and the entry point decides.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/src/config.js';
import { createLogger, type Logger } from '../../shared/src/logger.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { claimIndexMeta, readIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { QUEUES, type QueueName } from '../../shared/src/jobs/queue-table.js';
import { closeQueues, createQueues, queueList, type Queues } from '../../shared/src/queue/queues.js';
import { createRedisClient } from '../../shared/src/queue/redis-client.js';
import { checkEvictionPolicy } from '../../shared/src/queue/check-eviction-policy.js';
import { startQueueWatchdog } from '../../shared/src/queue/queue-watchdog.js';
import { createEvents, type Events } from '../../shared/src/events.js';
import { createEmbedder, embedderHealth } from './embedders/create-embedder.js';
import { createConcurrencyLimit } from './ollama/concurrency-limit.js';
import type { Embedder } from './embedders/embedder.js';
import { createAnswerer } from './answerers/create-answerer.js';
import type { Answerer } from './answerers/answerer.js';
import type { IndexInvalidatedError } from './vectors/vector-index.js';
import { CollectionIndexes } from './vectors/collection-indexes.js';
import { JobStats } from './job-stats.js';
import { startHeartbeat } from './heartbeat.js';
import { startSweeper } from './sweeper.js';
import { startLogCompactor } from './log-compactor.js';
import { startCommitAnnouncements, type CommitAnnouncements } from './commit-announcements.js';

export interface Services {
  config: Config;
  logger: Logger;
  workerId: string;
  db: Knex;
  redis: Redis;
  queues: Queues;
  events: Events;
  embedder: Embedder;
  answerer: Answerer;
  indexes: CollectionIndexes; // one HNSW index per collection
  commits: CommitAnnouncements; // a commit's seq told to every worker, which then records what it applied (?wait=true)
  jobStats: JobStats; // per-queue job counts: metrics (through the heartbeat) and the queue watchdog
  /** Resolves when this worker can serve nothing more (a reindex replaced its vectors): restart it. */
  failure: Promise<IndexInvalidatedError>;
  close(): Promise<void>;
}

export class EmbedderMismatchError extends Error {
  constructor(stored: string, configured: string) {
    super(
      `the database's vectors were made by ${stored}, but this worker's embedder is ${configured}; ` +
        `start workers with the embedder the database uses, or re-embed everything with \`npm run reindex\``,
    );
    this.name = 'EmbedderMismatchError';
  }
}

export async function startServices(config: Config): Promise<Services> {
  const logger = createLogger(config, 'worker');
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  logger.info('config loaded', { workerId, embedder: config.EMBEDDER, answerer: config.ANSWERER, database: config.DATABASE_URL ? 'postgres' : 'sqlite' });
  const db = await openDatabase(config, logger);
  const { embedder, answerer, indexes, failure } = await startModelParts(config, logger, db);
  const queues = createQueues(config, 'worker');
  const events = createEvents(config, 'worker', logger);
  const redis = createRedisClient(config, `colmeia-worker-${process.pid}`);
  void checkEvictionPolicy(redis, logger); // warns when Redis may evict job hashes; never blocks start-up
  const jobStats = new JobStats();
  const heartbeat = await startHeartbeat({ config, logger, workerId, redis, embedder, indexes, jobStats });
  const commits = startCommitAnnouncements({ config, logger, workerId, redis, indexes });
  const sweeper = startSweeper({ config, db, queues, logger });
  const compactor = startLogCompactor({ config, db, redis, logger, ownCheckpointSeq: (collection) => indexes.get(collection)?.stats().checkpointSeq ?? 0 });
  const watchdog = startQueueWatchdog({
    queues: queueList(queues),
    logger,
    intervalMs: config.WATCHDOG_INTERVAL_MS,
    prefix: config.QUEUE_PREFIX,
    redis: [redis],
    taker: (queue) => ({
      hasFreeSlot: jobStats.active(queue.name) < QUEUES[queue.name as QueueName].policy.concurrency(config),
      lastStartedAt: jobStats.lastStartedAt(queue.name),
    }),
  });
  const close = async () => {
    sweeper.close();
    compactor.close();
    watchdog.close();
    await closeQueues(queues, config.SHUTDOWN_GRACE_MS); // running jobs finish first
    await events.close(); // after the jobs: they publish what they store
    await commits.close();
    await indexes.close(); // final checkpoints
    await heartbeat.close();
    redis.disconnect();
    await Promise.allSettled([embedder.close(), answerer.close()]);
    await db.destroy();
  };
  return { config, logger, workerId, db, redis, queues, events, embedder, answerer, indexes, commits, jobStats, failure, close };
}

/** Embedder (checked against the database's), answerer and every collection's index of the embedder's vectors. */
async function startModelParts(config: Config, logger: Logger, db: Knex) {
  const modelCalls = createConcurrencyLimit(config.OLLAMA_MAX_CONCURRENCY); // one limit for embedder and answerer
  const recorded = await readIndexMeta(db);
  const embedder = await createEmbedder(config, logger, { limit: modelCalls, expectedId: recorded?.embedder ?? null });
  logger.info('embedder ready', { embedder: embedder.id, dimension: embedder.dimension, ...embedderHealth(embedder) });
  const answerer = createAnswerer(config, logger, { limit: modelCalls });
  const meta = await claimIndexMeta(db, embedder.id, embedder.dimension);
  if (meta.embedder !== embedder.id) throw new EmbedderMismatchError(meta.embedder, embedder.id);
  let fail: (err: IndexInvalidatedError) => void = () => undefined;
  const failure = new Promise<IndexInvalidatedError>((resolve) => (fail = resolve));
  const identity = { embedder: embedder.id, dimension: embedder.dimension, instanceId: meta.instanceId };
  const indexes = await CollectionIndexes.load(config, db, identity, logger, (err) => fail(err));
  return { embedder, answerer, indexes, failure };
}
