/**
 * Keeps vector_log from growing forever: every LOG_COMPACT_INTERVAL_MS a worker deletes the rows
 * that every live worker's checkpoint has passed (the smallest checkpoint seq in the heartbeats,
 * its own included). A worker with no checkpoint yet holds compaction back; a worker that was down
 * and comes back with an older checkpoint rebuilds from the chunks table (VectorIndex.load).
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/src/config.js';
import { compactLog, compactedThrough } from '../../shared/src/db/log-compaction-repo.js';
import { readHeartbeats } from '../../shared/src/heartbeats.js';
import { serializeError, type Logger } from '../../shared/src/logger.js';

export interface CompactorParts {
  config: Config;
  db: Knex;
  redis: Redis;
  logger: Logger;
  ownCheckpointSeq: () => number;
}

export function startLogCompactor(p: CompactorParts): { close(): void } {
  const timer = setInterval(() => {
    compactOnce(p).catch((err: unknown) => p.logger.warn('log compaction failed; the next one tries again', { err: serializeError(err) }));
  }, p.config.LOG_COMPACT_INTERVAL_MS);
  timer.unref();
  return { close: () => clearInterval(timer) };
}

/** One compaction; returns how many rows went. */
export async function compactOnce(p: CompactorParts): Promise<number> {
  const live = await readHeartbeats(p.redis, p.config.QUEUE_PREFIX, p.config.HEARTBEAT_INTERVAL_MS * 3);
  const passed = Math.min(p.ownCheckpointSeq(), ...live.map((beat) => beat.checkpointSeq));
  if (passed <= (await compactedThrough(p.db))) return 0;
  const removed = await compactLog(p.db, passed, p.config.LOG_COMPACT_BATCH);
  if (removed > 0) p.logger.info('change log compacted', { throughSeq: passed, removed, workers: live.length });
  return removed;
}
