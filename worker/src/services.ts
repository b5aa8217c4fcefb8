/**
 * startServices(config): the one composition root of the worker. Every processor
 * receives what it needs from here; nothing is configured on first use.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/src/config.js';
import { createLogger, serializeError, type Logger } from '../../shared/src/logger.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { claimIndexMeta, readIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { closeQueues, createQueues, type Queues } from '../../shared/src/queue/queues.js';
import { createRedisClient } from '../../shared/src/queue/redis-client.js';
import { removeHeartbeat, writeHeartbeat } from '../../shared/src/heartbeats.js';
import { checkEvictionPolicy } from '../../shared/src/queue/check-eviction-policy.js';
import { createEvents, type Events } from '../../shared/src/events.js';
import { createEmbedder, embedderHealth } from './embedders/create-embedder.js';
import { createConcurrencyLimit } from './ollama/concurrency-limit.js';
import type { Embedder } from './embedders/embedder.js';
import { createAnswerer } from './answerers/create-answerer.js';
import type { Answerer } from './answerers/answerer.js';
import { VectorIndex } from './vectors/vector-index.js';
import { JobStats } from './job-stats.js';

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
  index: VectorIndex;
  jobStats: JobStats; // per-queue job counts: metrics (through the heartbeat) and the queue watchdog
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
  const modelCalls = createConcurrencyLimit(config.OLLAMA_MAX_CONCURRENCY); // one limit for embedder and answerer
  const recorded = await readIndexMeta(db);
  const embedder = await createEmbedder(config, logger, { limit: modelCalls, expectedId: recorded?.embedder ?? null });
  logger.info('embedder ready', { embedder: embedder.id, dimension: embedder.dimension, ...embedderHealth(embedder) });
  const answerer = createAnswerer(config, logger, { limit: modelCalls });
  const meta = await claimIndexMeta(db, embedder.id, embedder.dimension);
  if (meta.embedder !== embedder.id) throw new EmbedderMismatchError(meta.embedder, embedder.id);
  const index = await VectorIndex.load(config, db, { embedder: embedder.id, dimension: embedder.dimension, instanceId: meta.instanceId }, logger, (err) => {
    logger.error('index invalidated, stopping', { err: serializeError(err) });
    process.kill(process.pid, 'SIGTERM'); // the platform restarts the worker; with the new embedder it rebuilds
  });
  const queues = createQueues(config, 'worker');
  const events = createEvents(config, 'worker', logger);
  const redis = createRedisClient(config, `colmeia-worker-${process.pid}`);
  void checkEvictionPolicy(redis, logger); // warns when Redis may evict job hashes; never blocks start-up
  const jobStats = new JobStats();
  const startedAt = new Date().toISOString();
  const beat = () =>
    writeHeartbeat(redis, config.QUEUE_PREFIX, {
      id: workerId,
      pid: process.pid,
      host: hostname(),
      startedAt,
      lastSeen: Date.now(),
      indexSize: index.size,
      appliedSeq: index.seq,
      checkpointSeq: index.stats().checkpointSeq,
      embedder: embedder.id,
      status: embedderStatus(embedder),
      lastSyncMs: index.stats().lastSyncMs,
      jobs: jobStats.snapshot(),
    }).catch((err: unknown) => logger.warn('heartbeat failed', { err: serializeError(err) }));
  await beat();
  const heartbeat = setInterval(() => void beat(), config.HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();
  logger.info('heartbeat started', { intervalMs: config.HEARTBEAT_INTERVAL_MS });

  const close = async () => {
    clearInterval(heartbeat);
    await closeQueues(queues, config.SHUTDOWN_GRACE_MS); // running jobs finish first
    await events.close(); // after the jobs: they publish what they store
    await index.close(); // final checkpoint
    await removeHeartbeat(redis, config.QUEUE_PREFIX, workerId).catch(() => undefined);
    redis.disconnect();
    await Promise.allSettled([embedder.close(), answerer.close()]);
    await db.destroy();
  };
  return { config, logger, workerId, db, redis, queues, events, embedder, answerer, index, jobStats, close };
}

function embedderStatus(embedder: Embedder): string {
  const health = embedderHealth(embedder);
  return health.isReady ? 'ready' : `degraded: ${health.degradedReason ?? 'embedder unavailable'}`;
}
