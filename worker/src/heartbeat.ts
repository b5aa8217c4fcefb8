/**
 * The worker's heartbeat: its state (index size and seq, embedder health, job counts) written to
 * Redis at start and every HEARTBEAT_INTERVAL_MS (the default collection's index at the top, every collection's in `collections`), read by GET /status and GET /metrics. A failed
 * write is a warning: the next beat tries again.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/src/config.js';
import { removeHeartbeat, writeHeartbeat } from '../../shared/src/heartbeats.js';
import { serializeError, type Logger } from '../../shared/src/logger.js';
import { embedderHealth } from './embedders/create-embedder.js';
import type { Embedder } from './embedders/embedder.js';
import type { JobStats } from './job-stats.js';
import type { CollectionIndexes } from './vectors/collection-indexes.js';

export interface HeartbeatParts {
  config: Config;
  logger: Logger;
  workerId: string;
  redis: Redis;
  embedder: Embedder;
  indexes: CollectionIndexes;
  jobStats: JobStats;
}

export async function startHeartbeat(p: HeartbeatParts): Promise<{ close(): Promise<void> }> {
  const startedAt = new Date().toISOString();
  const beat = () => {
    const index = p.indexes.default.stats();
    return writeHeartbeat(p.redis, p.config.QUEUE_PREFIX, {
      id: p.workerId,
      pid: process.pid,
      host: hostname(),
      startedAt,
      lastSeen: Date.now(),
      indexSize: index.size,
      appliedSeq: index.appliedSeq,
      checkpointSeq: index.checkpointSeq,
      embedder: p.embedder.id,
      status: embedderStatus(p.embedder),
      lastSyncMs: index.lastSyncMs,
      collections: p.indexes.stats(),
      jobs: p.jobStats.snapshot(),
    }).catch((err: unknown) => p.logger.warn('heartbeat failed', { err: serializeError(err) }));
  };
  await beat();
  const timer = setInterval(() => void beat(), p.config.HEARTBEAT_INTERVAL_MS);
  timer.unref();
  p.logger.info('heartbeat started', { intervalMs: p.config.HEARTBEAT_INTERVAL_MS });
  return {
    close: async () => {
      clearInterval(timer);
      await removeHeartbeat(p.redis, p.config.QUEUE_PREFIX, p.workerId).catch(() => undefined);
    },
  };
}

function embedderStatus(embedder: Embedder): string {
  const health = embedderHealth(embedder);
  return health.isReady ? 'ready' : `degraded: ${health.degradedReason ?? 'embedder unavailable'}`;
}
