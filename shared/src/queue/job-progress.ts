/**
 * A running job's progress, kept where any web process can read it. Bee-Queue's reportProgress only
 * publishes an event (the job hash keeps the progress of its last save, 0 while it runs), so the
 * worker also writes the latest value under one key per job, expiring after a day: GET /jobs reads it.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const JobProgress = z.object({
  done: z.number().int().nonnegative(), // units finished (ingest: chunks embedded)
  total: z.number().int().nonnegative(), // units in all
});
export type JobProgress = z.infer<typeof JobProgress>;

const PROGRESS_TTL_MS = 86_400_000;

export function jobProgressKey(prefix: string, queue: string, jobId: string): string {
  return `${prefix}:${queue}:progress:${jobId}`;
}

export async function writeJobProgress(redis: Redis, prefix: string, queue: string, jobId: string, progress: JobProgress): Promise<void> {
  await redis.set(jobProgressKey(prefix, queue, jobId), JSON.stringify(progress), 'PX', PROGRESS_TTL_MS);
}

export async function readJobProgress(redis: Redis, prefix: string, queue: string, jobId: string): Promise<JobProgress | undefined> {
  const raw = await redis.get(jobProgressKey(prefix, queue, jobId));
  if (raw === null) return undefined;
  try {
    const parsed = JobProgress.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // not ours or truncated: no progress rather than a 500
  }
}

export async function removeJobProgress(redis: Redis, prefix: string, queue: string, jobId: string): Promise<void> {
  await redis.del(jobProgressKey(prefix, queue, jobId));
}

/** Whole percent, 0..100. */
export function progressPercent(progress: JobProgress): number {
  return progress.total === 0 ? 100 : Math.min(100, Math.floor((progress.done * 100) / progress.total));
}
