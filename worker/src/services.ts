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
import { claimIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { adoptDefaultEmbedder } from '../../shared/src/db/generations-repo.js';
import { defaultEmbedderSpec } from '../../shared/src/embedder-spec.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import { QUEUES, type QueueName } from '../../shared/src/jobs/queue-table.js';
import { closeQueues, createQueues, queueList, type Queues } from '../../shared/src/queue/queues.js';
import { createRedisClient } from '../../shared/src/queue/redis-client.js';
import { checkEvictionPolicy } from '../../shared/src/queue/check-eviction-policy.js';
import { startQueueWatchdog } from '../../shared/src/queue/queue-watchdog.js';
import { createEvents, type Events } from '../../shared/src/events.js';
import { EmbedderRegistry } from './embedders/embedder-registry.js';
import { createConcurrencyLimit } from './ollama/concurrency-limit.js';
import { createAnswerer } from './answerers/create-answerer.js';
import type { Answerer } from './answerers/answerer.js';
import { CollectionIndexes } from './vectors/collection-indexes.js';
import { JobStats } from './job-stats.js';
import { startHeartbeat } from './heartbeat.js';
import { startSweeper } from './sweeper.js';
import { startLogCompactor } from './log-compactor.js';
import { startCommitAnnouncements, type CommitAnnouncements } from './commit-announcements.js';
import { createIngestGroups, type IngestGroups } from './processors/ingest-groups.js';

export interface Services {
  config: Config;
  logger: Logger;
  workerId: string;
  db: Knex;
  redis: Redis;
  queues: Queues;
  events: Events;
  embedders: EmbedderRegistry; // one per embedder spec; each collection's generation names its own
  answerer: Answerer;
  indexes: CollectionIndexes; // one HNSW index per collection, with its generation's embedder
  commits: CommitAnnouncements; // a commit's seq told to every worker, which then records what it applied (?wait=true)
  ingestGroups: IngestGroups; // the claims and commits of the ingest jobs running here, made together
  jobStats: JobStats; // per-queue job counts: metrics (through the heartbeat) and the queue watchdog
  close(): Promise<void>;
}

export async function startServices(config: Config): Promise<Services> {
  const logger = createLogger(config, 'worker');
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  logger.info('config loaded', { workerId, embedder: config.EMBEDDER, answerer: config.ANSWERER, database: config.DATABASE_URL ? 'postgres' : 'sqlite' });
  const db = await openDatabase(config, logger);
  const { embedders, answerer, indexes } = await startModelParts(config, logger, db);
  const queues = createQueues(config, 'worker');
  const events = createEvents(config, 'worker', logger);
  const redis = createRedisClient(config, `colmeia-worker-${process.pid}`);
  void checkEvictionPolicy(redis, logger); // warns when Redis may evict job hashes; never blocks start-up
  const jobStats = new JobStats();
  const heartbeat = await startHeartbeat({ config, logger, workerId, redis, indexes, jobStats });
  const commits = startCommitAnnouncements({ config, logger, workerId, redis, indexes });
  const ingestGroups = createIngestGroups({ db, indexes, commits, maxGroup: config.INGEST_CONCURRENCY });
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
    await Promise.allSettled([embedders.close(), answerer.close()]);
    await db.destroy();
  };
  indexes.startVectorCopies(); // last: background reads that must not delay the start
  return { config, logger, workerId, db, redis, queues, events, embedders, answerer, indexes, commits, ingestGroups, jobStats, close };
}

/**
 * The embedders (one per spec, made as collections need them), the answerer and every collection's
 * index with its generation's embedder; a collection whose embedder is unavailable starts degraded.
 */
async function startModelParts(config: Config, logger: Logger, db: Knex) {
  const modelCalls = createConcurrencyLimit(config.OLLAMA_MAX_CONCURRENCY); // one limit for every embedder and the answerer
  const embedders = new EmbedderRegistry(config, logger, modelCalls);
  const answerer = createAnswerer(config, logger, { limit: modelCalls });
  const meta = await claimIndexMeta(db, 'per-collection', 0); // the database's identity; each collection's generation records its embedder
  await adoptDefaultEmbedder(db, DEFAULT_COLLECTION, defaultEmbedderSpec(config)); // a fresh database's default collection: the deployment's
  const indexes = await CollectionIndexes.load(config, db, embedders, meta.instanceId, logger);
  return { embedders, answerer, indexes };
}
