/** What the processor wrapper (register.ts) hands each processor besides its services and payload. */
import type Queue from 'bee-queue';
import type { Knex } from 'knex';
import type { Logger } from '../../../shared/src/logger.js';
import type { JobProgress } from '../../../shared/src/queue/job-progress.js';

export interface JobContext<R = unknown> {
  job: Queue.Job<unknown>;
  logger: Logger; // carries queue, job id and request id
  attempt: number; // 1 for the first; counted in SQL where the queue caps attempts
  reportProgress: (progress: JobProgress) => void; // stored for GET /jobs; best effort, never fails the job
  /**
   * Stores the job's outcome inside the transaction that commits its effect, so a crash after the
   * commit leaves the outcome with it (a re-run then finds the job ended); a queue that does not
   * store outcomes ignores it. A processor that calls it returns that same result; one that does
   * not has its result stored by the wrapper once it returns.
   */
  saveOutcome: (trx: Knex, result: R) => Promise<void>;
}
