/**
 * Worker heartbeats in one Redis hash per deployment: each worker writes its state every few
 * seconds; GET /status reads them and drops entries not seen for three intervals.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';

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
