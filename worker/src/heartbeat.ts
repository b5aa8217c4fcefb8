/**
 * The worker's heartbeat: its state (index size and seq, embedder health, job counts) written to
 * Redis at start and every HEARTBEAT_INTERVAL_MS (the default collection's index at the top, every
 * collection's in `collections`, each with its generation, embedder and `ready` or `degraded: …`),
 * read by GET /status, GET /collections/:c and GET /metrics. The worker's own status is degraded
 * when any collection is, naming them. A failed write is a warning: the next beat tries again.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/src/config.js';
import { removeHeartbeat, writeHeartbeat } from '../../shared/src/heartbeats.js';
import { serializeError, type Logger } from '../../shared/src/logger.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import type { JobStats } from './job-stats.js';
import type { CollectionIndexes } from './vectors/collection-indexes.js';

export interface HeartbeatParts {
  config: Config;
  logger: Logger;
  workerId: string;
  redis: Redis;
  indexes: CollectionIndexes;
  jobStats: JobStats;
}

export async function startHeartbeat(p: HeartbeatParts): Promise<{ close(): Promise<void> }> {
  const startedAt = new Date().toISOString();
  const beat = () => {
    const collections = p.indexes.stats();
    const index = collections[DEFAULT_COLLECTION] ?? { size: 0, appliedSeq: 0, checkpointSeq: 0, lastSyncMs: 0, embedder: 'none', status: 'ready' };
    return writeHeartbeat(p.redis, p.config.QUEUE_PREFIX, {
      id: p.workerId,
      pid: process.pid,
      host: hostname(),
      startedAt,
      lastSeen: Date.now(),
      indexSize: index.size,
      appliedSeq: index.appliedSeq,
      checkpointSeq: index.checkpointSeq,
      embedder: index.embedder,
      status: workerStatus(collections),
      lastSyncMs: index.lastSyncMs,
      collections,
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

function workerStatus(collections: Record<string, { status: string }>): string {
  const degraded = Object.entries(collections).filter(([, c]) => c.status !== 'ready');
  return degraded.length === 0 ? 'ready' : `degraded: ${degraded.map(([id, c]) => `collection ${id} ${c.status}`).join('; ')}`;
}
