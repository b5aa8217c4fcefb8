/** What the processor wrapper (register.ts) hands each processor besides its services and payload. */
import type Queue from 'bee-queue';
import type { Logger } from '../../../shared/src/logger.js';
import type { JobProgress } from '../../../shared/src/queue/job-progress.js';

export interface JobContext {
  job: Queue.Job<unknown>;
  logger: Logger; // carries queue, job id and request id
  attempt: number; // 1 for the first; counted in SQL where the queue caps attempts
  reportProgress: (progress: JobProgress) => void; // stored for GET /jobs; best effort, never fails the job
}
