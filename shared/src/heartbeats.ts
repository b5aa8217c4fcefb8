/**
 * Worker heartbeats in one Redis hash per deployment: each worker writes its state every few
 * seconds; GET /status reads them and drops entries not seen for three intervals. The heartbeat is
 * also how workers report their metrics (sync time, job counts and durations): a worker dyno has no
 * routable port, and the web's GET /metrics reads every live worker's numbers from this one hash.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';

/** Upper bounds (seconds) of the job-duration histogram buckets; workers and the web share them. */
export const JOB_DURATION_BUCKETS_S: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** One queue's job counts in one worker, cumulative since it started. */
export const QueueJobStats = z.object({
  succeeded: z.number(), // returned a value
  failed: z.number(), // returned an expected failure ({ok:false}: no retry can fix it)
  errored: z.number(), // threw: retried with back-off, or failed for good after the last attempt
  stalled: z.number(), // found stalled (a worker died mid-job) by this worker's stall check
  durationCount: z.number(),
  durationSumS: z.number(),
  durationBuckets: z.array(z.number()), // cumulative count per JOB_DURATION_BUCKETS_S bound
});
export type QueueJobStats = z.infer<typeof QueueJobStats>;

/** One collection's index in one worker: its generation, the embedder its vectors are of, and whether it can serve. */
export const CollectionIndexBeat = z.object({
  size: z.number(),
  appliedSeq: z.number(),
  checkpointSeq: z.number(),
  lastSyncMs: z.number(),
  generation: z.number().optional(),
  embedder: z.string().optional(), // the generation's fingerprint, or its spec while none is recorded
  status: z.string().optional(), // ready | degraded: <reason>
  payloadFields: z.array(z.string()).optional(), // the declared fields its payload index holds postings of
});
export type CollectionIndexBeat = z.infer<typeof CollectionIndexBeat>;

export const Heartbeat = z.object({
  id: z.string(),
  pid: z.number(),
  host: z.string(),
  startedAt: z.string(),
  lastSeen: z.number(),
  indexSize: z.number(),
  appliedSeq: z.number(),
  checkpointSeq: z.number(),
  embedder: z.string(),
  status: z.string(), // ready | degraded: <reason>
  lastSyncMs: z.number().optional(), // duration of the last index sync
  // every collection's index in this worker; the fields above are the default collection's
  collections: z.record(z.string(), CollectionIndexBeat).optional(),
  jobs: z.record(z.string(), QueueJobStats).optional(), // per queue, since the worker started
});
export type Heartbeat = z.infer<typeof Heartbeat>;

export function heartbeatKey(prefix: string): string {
  return `${prefix}:workers`;
}

export async function writeHeartbeat(redis: Redis, prefix: string, beat: Heartbeat): Promise<void> {
  await redis.hset(heartbeatKey(prefix), beat.id, JSON.stringify(beat));
}

export async function removeHeartbeat(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.hdel(heartbeatKey(prefix), id);
}

/** Live workers; entries older than maxAgeMs are removed. */
export async function readHeartbeats(redis: Redis, prefix: string, maxAgeMs: number): Promise<Heartbeat[]> {
  const entries = await redis.hgetall(heartbeatKey(prefix));
  const live: Heartbeat[] = [];
  const stale: string[] = [];
  for (const [id, raw] of Object.entries(entries)) {
    const parsed = Heartbeat.safeParse(safeJson(raw));
    if (parsed.success && Date.now() - parsed.data.lastSeen <= maxAgeMs) live.push(parsed.data);
    else stale.push(id);
  }
  if (stale.length > 0) await redis.hdel(heartbeatKey(prefix), ...stale);
  return live.sort((a, b) => a.id.localeCompare(b.id));
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
