/**
 * The worker's half of wait-for-searchable (shared/src/applied-seqs.ts): after committing a change
 * a processor announces its seq; every worker, this one included, hears it, syncs that collection's
 * index and records the seq it has applied, so the web can tell when every live worker has it. An
 * idle worker would otherwise apply the change only at its next search. A failed announcement or
 * record is a warning: the change is committed and every search syncs first; only a waiter may
 * time out (and then answers 202 with the state so far).
 */
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/src/config.js';
import { announceCommit, LogCommit, logCommitsChannel, recordAppliedSeq, removeAppliedSeqs } from '../../shared/src/applied-seqs.js';
import { serializeError, type Logger } from '../../shared/src/logger.js';
import { createRedisClient } from '../../shared/src/queue/redis-client.js';
import type { CollectionIndexes } from './vectors/collection-indexes.js';

export interface CommitAnnouncements {
  /** Tells every worker that `collection`'s log reached `seq`; never rejects. */
  announce(collection: string, seq: number): Promise<void>;
  close(): Promise<void>;
}

export interface CommitAnnouncementParts {
  config: Config;
  logger: Logger;
  workerId: string;
  redis: Redis; // for publishing and recording; the subscriber is a connection of its own
  indexes: CollectionIndexes;
}

export function startCommitAnnouncements(p: CommitAnnouncementParts): CommitAnnouncements {
  const prefix = p.config.QUEUE_PREFIX;
  const sub = createRedisClient(p.config, `colmeia-worker-commits-${process.pid}`);
  const warn = (message: string) => (err: unknown) => {
    p.logger.warn(message, { err: serializeError(err) });
  };
  const apply = (collection: string) =>
    p.indexes
      .synced(collection)
      .then((index) => recordAppliedSeq(p.redis, prefix, p.workerId, collection, index.seq))
      .catch(warn('applied seq not recorded; writers waiting for it may time out'));
  sub.on('error', warn('redis commit subscriber error'));
  // On every (re)subscription catch up on what a gap may have swallowed: each held collection once.
  sub.on('ready', () => {
    sub
      .subscribe(logCommitsChannel(prefix))
      .then(() => Promise.all(Object.keys(p.indexes.stats()).map(apply)), warn('commit subscription failed; retried on reconnect'));
  });
  sub.on('message', (_channel: string, raw: string) => {
    const commit = LogCommit.safeParse(parseJson(raw));
    if (commit.success) void apply(commit.data.collection);
    else p.logger.warn('malformed commit announcement dropped', { bytes: raw.length });
  });
  return {
    announce: (collection, seq) =>
      announceCommit(p.redis, prefix, { collection, seq }).catch(warn('commit not announced; writers waiting for it may time out')),
    close: async () => {
      sub.disconnect();
      await removeAppliedSeqs(p.redis, prefix, p.workerId, Object.keys(p.indexes.stats())).catch(() => undefined);
    },
  };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
