/**
 * How a job is acknowledged: what it is about and the job's pending record (with its payload) are
 * written in one transaction, then the job is enqueued. Once this returns, the job survives Redis
 * losing it (the sweep enqueues it again from SQL); if the enqueue fails the caller answers 503, and
 * the sweep still runs it.
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
    await recordPendingJob(trx, { queue: queue.name, jobId: written.jobId, data: written.data });
    return written;
  });
  return { value: accepted.value, job: await enqueue(queue, s.config, accepted.jobId, accepted.data) };
}
