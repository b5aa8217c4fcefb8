/**
 * How a job is acknowledged: what it is about and the job's pending record (with its payload) are
 * written in one transaction, then the job is enqueued. Once this returns, the job survives Redis
 * losing it (the sweep enqueues it again from SQL); if the enqueue fails the caller answers 503, and
 * the sweep still runs it. Several jobs (a batch of documents) are recorded in one transaction too.
 */
import type Queue from 'bee-queue';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { recordPendingJob } from '../db/jobs-repo.js';
import type { QueueName } from '../jobs/queue-table.js';
import { enqueue } from './enqueue.js';

export interface AcceptedWrite<T, P> {
  value: T; // what the write produced (a document's id and revision, ...)
  jobId: string;
  data: P; // the job's payload
}

export async function acceptJob<T, P extends { requestId: string }>(
  s: { db: Knex; config: Config },
  queue: Queue<P>,
  write: (trx: Knex.Transaction) => Promise<AcceptedWrite<T, P>>,
): Promise<{ value: T; job: { queue: QueueName; id: string } }> {
  const accepted = await s.db.transaction(async (trx) => {
    const written = await write(trx);
    await recordAcceptedJobs(trx, queue, [written]);
    return written;
  });
  const [job] = await enqueueAccepted(queue, s.config, [accepted]);
  if (!job) throw new Error(`job ${accepted.jobId} was not enqueued`);
  return { value: accepted.value, job };
}

/** The pending records of jobs whose subject `trx` writes; call it inside that transaction. */
export async function recordAcceptedJobs<P extends { requestId: string }>(
  trx: Knex,
  queue: Queue<P>,
  jobs: ReadonlyArray<{ jobId: string; data: P }>,
): Promise<void> {
  for (const job of jobs) await recordPendingJob(trx, { queue: queue.name, jobId: job.jobId, data: job.data });
}

/** Enqueues jobs whose pending records are committed, all at once; a Redis failure is a 503 and the sweep runs what was not saved. */
export async function enqueueAccepted<P>(
  queue: Queue<P>,
  config: Config,
  jobs: ReadonlyArray<{ jobId: string; data: P }>,
): Promise<Array<{ queue: QueueName; id: string }>> {
  return Promise.all(jobs.map((job) => enqueue(queue, config, job.jobId, job.data)));
}
