/**
 * Keeps vector_log from growing forever: every LOG_COMPACT_INTERVAL_MS a worker deletes the rows
 * that every live worker's checkpoint has passed, collection by collection (the smallest checkpoint
 * seq of the collection in the heartbeats, its own included). A worker with no checkpoint yet holds compaction back; a worker that was down
 * and comes back with an older checkpoint rebuilds from the chunks table (VectorIndex.load).
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/src/config.js';
import { compactLog, compactedThrough } from '../../shared/src/db/log-compaction-repo.js';
import { readHeartbeats, type Heartbeat } from '../../shared/src/heartbeats.js';
import { listCollections } from '../../shared/src/db/collections-repo.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import { serializeError, type Logger } from '../../shared/src/logger.js';

export interface CompactorParts {
  config: Config;
  db: Knex;
  redis: Redis;
  logger: Logger;
  ownCheckpointSeq: (collection: string) => number;
}

export function startLogCompactor(p: CompactorParts): { close(): void } {
  const timer = setInterval(() => {
    compactOnce(p).catch((err: unknown) => p.logger.warn('log compaction failed; the next one tries again', { err: serializeError(err) }));
  }, p.config.LOG_COMPACT_INTERVAL_MS);
  timer.unref();
  return { close: () => clearInterval(timer) };
}

/** One compaction of every collection's rows; returns how many rows went. */
export async function compactOnce(p: CompactorParts): Promise<number> {
  const live = await readHeartbeats(p.redis, p.config.QUEUE_PREFIX, p.config.HEARTBEAT_INTERVAL_MS * 3);
  let removed = 0;
  for (const { id: collection } of await listCollections(p.db)) {
    const passed = Math.min(p.ownCheckpointSeq(collection), ...live.map((beat) => checkpointSeqOf(beat, collection)));
    if (passed <= (await compactedThrough(p.db, collection))) continue;
    const went = await compactLog(p.db, passed, p.config.LOG_COMPACT_BATCH, collection);
    if (went > 0) p.logger.info('change log compacted', { collection, throughSeq: passed, removed: went, workers: live.length });
    removed += went;
  }
  return removed;
}

/** A worker's checkpoint seq of a collection: 0 (holds compaction back) when it has none, or has not loaded the collection yet. */
function checkpointSeqOf(beat: Heartbeat, collection: string): number {
  const own = beat.collections?.[collection];
  if (own) return own.checkpointSeq;
  return beat.collections === undefined && collection === DEFAULT_COLLECTION ? beat.checkpointSeq : 0; // a worker from before collections
}
