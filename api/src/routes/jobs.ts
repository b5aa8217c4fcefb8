/**
 * GET /jobs/:queue/:id: Bee-Queue knows a live job's status and progress; SQL keeps outcomes
 * (finished jobs are removed from Redis), so the two together answer for any job we ever ran.
 */
import { Router } from 'express';
import { z } from 'zod';
import { findJobOutcome } from '../../../shared/src/db/job-outcomes-repo.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import { QUEUE_NAMES } from '../../../shared/src/jobs/job-result.js';
import { parse } from '../../../shared/src/validation.js';
import type { ApiServices } from '../services.js';

const JobRef = z.strictObject({
  queue: z.enum(QUEUE_NAMES),
  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'must be a job id'),
});

export type JobStatus = 'waiting' | 'active' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

export function jobsRouter(s: ApiServices): Router {
  const router = Router();
  router.get('/jobs/:queue/:id', async (req, res) => {
    const ref = parse(JobRef, { ...req.params }, 'job');
    const queue = s.queues[ref.queue];
    const [job, outcome] = await Promise.all([queue.getJob(ref.id), findJobOutcome(s.db, ref.queue, ref.id)]);
    if (!job && !outcome) throw new NotFoundError(`job ${ref.queue}/${ref.id} not found`);
    const retriesLeft = (job?.options as { retries?: number } | undefined)?.retries ?? 0;
    const status: JobStatus = outcome?.status ?? (job ? await liveStatus(s, queue.keyPrefix, ref.id, job.status) : 'waiting');
    res.json({
      id: ref.id,
      queue: ref.queue,
      status,
      progress: job?.progress ?? (status === 'succeeded' ? 100 : 0),
      attempts: outcome?.attempts ?? (job ? Math.max(0, s.config.JOB_ATTEMPTS - 1 - retriesLeft) + (status === 'active' ? 1 : 0) : 0),
      ...(outcome?.result != null ? { result: outcome.result } : {}),
      ...(outcome?.error != null ? { error: outcome.error } : {}),
    });
  });
  return router;
}

async function liveStatus(s: ApiServices, keyPrefix: string, id: string, beeStatus: string): Promise<JobStatus> {
  if (beeStatus === 'succeeded') return 'succeeded';
  if (beeStatus === 'failed') return 'failed';
  if (beeStatus === 'retrying') return 'retrying';
  const position = await s.redis.lpos(`${keyPrefix}active`, id);
  return position === null ? 'waiting' : 'active';
}
