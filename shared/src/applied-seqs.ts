/**
 * How the web learns that a change is searchable through every live worker (?wait=true on writes).
 * The worker that commits a change announces its vector_log seq on one pub/sub channel; every
 * worker, on hearing it, syncs that collection's index and records the seq it has applied in one
 * Redis hash per collection (field: worker id). The web reads the live workers from the heartbeats
 * and each one's applied seq as the larger of its heartbeat's and this hash's. Pub/sub is
 * at-most-once: a lost announcement only delays a waiter until the worker's next sync, or its
 * timeout (a 202 with the state so far); nothing accepted depends on it.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Heartbeat } from './heartbeats.js';
import { CollectionId, DEFAULT_COLLECTION } from './input.js';
import { withTimeout } from './time-limits.js';

const REDIS_TIMEOUT_MS = 1_000;
/** A collection's hash outlives a worker that died without removing its field by this long at most, once written to again. */
const APPLIED_TTL_MS = 24 * 60 * 60 * 1_000;

export const LogCommit = z.strictObject({ collection: CollectionId, seq: z.number().int().nonnegative() });
export type LogCommit = z.infer<typeof LogCommit>;

export function logCommitsChannel(prefix: string): string {
  return `${prefix}:log-commits`;
}

function appliedKey(prefix: string, collection: string): string {
  return `${prefix}:applied:${collection}`;
}

/** Tells every worker a commit exists; rejects when Redis does not take it within a second. */
export async function announceCommit(redis: Redis, prefix: string, commit: LogCommit): Promise<void> {
  await withTimeout(redis.publish(logCommitsChannel(prefix), JSON.stringify(commit)), REDIS_TIMEOUT_MS, 'redis did not take the commit announcement');
}

/** Records the seq a worker's index of `collection` has applied. */
export async function recordAppliedSeq(redis: Redis, prefix: string, workerId: string, collection: string, seq: number): Promise<void> {
  const key = appliedKey(prefix, collection);
  await withTimeout(
    redis.multi().hset(key, workerId, String(seq)).pexpire(key, APPLIED_TTL_MS).exec(),
    REDIS_TIMEOUT_MS,
    'redis did not record the applied seq',
  );
}

export async function removeAppliedSeqs(redis: Redis, prefix: string, workerId: string, collections: readonly string[]): Promise<void> {
  await Promise.all(collections.map((collection) => redis.hdel(appliedKey(prefix, collection), workerId)));
}

export interface WorkerApplied {
  id: string;
  appliedSeq: number;
}

/** Every live worker's applied seq for `collection`: the larger of its heartbeat's and its recorded one. */
export async function readAppliedSeqs(redis: Redis, prefix: string, collection: string, live: readonly Heartbeat[]): Promise<WorkerApplied[]> {
  const recorded = await withTimeout(redis.hgetall(appliedKey(prefix, collection)), REDIS_TIMEOUT_MS, 'redis did not answer');
  return live.map((beat) => {
    const fromBeat = beat.collections?.[collection]?.appliedSeq ?? (collection === DEFAULT_COLLECTION ? beat.appliedSeq : 0);
    const fromHash = Number(recorded[beat.id] ?? 0);
    return { id: beat.id, appliedSeq: Math.max(fromBeat, Number.isFinite(fromHash) ? fromHash : 0) };
  });
}
