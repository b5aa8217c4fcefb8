/**
 * Binds each queue to its processor: the only file that calls queue.process. Every job is handled
 * alike: the payload is parsed (a malformed one fails without retry), the logger carries queue,
 * job id and request id, an AppError becomes {ok:false}, anything else is rethrown for a retry.
 * Outcomes of ingest, remove and answer jobs are stored in SQL for GET /jobs. Each queue also gets
 * its periodic stall check (without it a dead worker's job is never retried), and every job is
 * counted in services.jobStats (metrics through the heartbeat; the connection watchdog).
 */
import type Queue from 'bee-queue';
import type { z } from 'zod';
import { AppError, ValidationError, jobFailure } from '../../../shared/src/errors.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import type { JobResult, QueueName } from '../../../shared/src/jobs/job-result.js';
import { IngestJob } from '../../../shared/src/jobs/ingest.js';
import { RemoveJob } from '../../../shared/src/jobs/remove.js';
import { SearchJob } from '../../../shared/src/jobs/search.js';
import { AnswerJob, type AnswerResult } from '../../../shared/src/jobs/answer.js';
import { saveJobOutcome, type OutcomeStatus } from '../../../shared/src/db/job-outcomes-repo.js';
import { writeJobProgress, type JobProgress } from '../../../shared/src/queue/job-progress.js';
import type { JobOutcome } from '../job-stats.js';
import type { Services } from '../services.js';
import { processIngest, recordIngestGaveUp } from './ingest.js';
import { processRemove } from './remove.js';
import { processSearch } from './search.js';
import { processAnswer, recordAnswerGaveUp } from './answer.js';

export type JobContext = {
  job: Queue.Job<unknown>;
  logger: Logger;
  attempt: number;
  reportProgress: (progress: JobProgress) => void; // stored for GET /jobs; best effort, never fails the job
};
type Processor<T, R> = (services: Services, data: T, context: JobContext) => Promise<R>;

export function registerProcessors(services: Services): void {
  const { queues, config } = services;
  bind(services, queues.ingest, IngestJob, config.INGEST_CONCURRENCY, processIngest, { storeOutcome: true });
  bind(services, queues.remove, RemoveJob, config.REMOVE_CONCURRENCY, processRemove, { storeOutcome: true });
  bind(services, queues.search, SearchJob, config.SEARCH_CONCURRENCY, processSearch, { storeOutcome: false });
  bind(services, queues.answer, AnswerJob, config.ANSWER_CONCURRENCY, processAnswer, { storeOutcome: true, outcomeStatus: answerOutcome });
  // Bee-Queue emits 'failed' for every failed attempt; job.status is 'failed' only after the last one.
  queues.ingest.on('failed', (job, err) => {
    if (job.status !== 'failed') return;
    void recordIngestGaveUp(services, job.data, err);
    void storeFailure(services, 'ingest', job.id, job.data.requestId, err);
  });
  queues.remove.on('failed', (job, err) => {
    if (job.status === 'failed') void storeFailure(services, 'remove', job.id, job.data.requestId, err);
  });
  queues.answer.on('failed', (job, err) => {
    if (job.status !== 'failed') return;
    void recordAnswerGaveUp(services, job.data, err);
    void storeFailure(services, 'answer', job.id, job.data.requestId, err);
  });
}

function answerOutcome(result: AnswerResult): OutcomeStatus {
  return result.status === 'cancelled' ? 'cancelled' : result.status === 'failed' ? 'failed' : 'succeeded';
}

function bind<T extends { requestId: string }, R>(
  services: Services,
  queue: Queue<T>,
  schema: z.ZodType<T>,
  concurrency: number,
  processor: Processor<T, R>,
  options: { storeOutcome: boolean; outcomeStatus?: (value: R) => OutcomeStatus },
): void {
  const name = queue.name as QueueName;
  queue.on('error', (err) => services.logger.warn('queue error', { queue: name, err: serializeError(err) }));
  queue.on('stalled', (jobId) => {
    services.jobStats.stalled(name);
    services.logger.warn('stalled job re-queued: its worker stopped reporting', { queue: name, jobId });
  });
  queue.process(concurrency, measured(services, name, async (job): Promise<JobResult<R>> => {
    const started = performance.now();
    const parsed = schema.safeParse(job.data);
    if (!parsed.success) {
      services.logger.error('malformed job payload', { queue: name, jobId: job.id, issues: parsed.error.issues.slice(0, 5) });
      return jobFailure(new ValidationError(`malformed ${name} job payload`));
    }
    const logger = services.logger.child({ queue: name, jobId: job.id, requestId: parsed.data.requestId });
    const attempts = name === 'search' ? 1 : attemptNumber(job as Queue.Job<unknown>, services.config.JOB_ATTEMPTS);
    try {
      const reportProgress = progressReporter(services, name, job.id, logger);
      const value = await processor(services, parsed.data, { job: job as Queue.Job<unknown>, logger, attempt: attempts, reportProgress });
      const status = options.outcomeStatus?.(value) ?? 'succeeded';
      if (options.storeOutcome) await saveJobOutcome(services.db, { queue: name, jobId: job.id, status, attempts, result: value, requestId: parsed.data.requestId });
      // a search is logged at info by the web (its request line); here at debug, to keep the hot path light
      logger.log(name === 'search' ? 'debug' : 'info', 'job succeeded', { durationMs: Math.round(performance.now() - started) });
      return { ok: true, value };
    } catch (err) {
      if (!(err instanceof AppError)) {
        logger.warn('job attempt failed', { attempts, durationMs: Math.round(performance.now() - started), err: serializeError(err) });
        throw err;
      }
      if (options.storeOutcome) {
        await saveJobOutcome(services.db, { queue: name, jobId: job.id, status: 'failed', attempts, error: { code: err.code, message: err.message }, requestId: parsed.data.requestId });
      }
      logger.info('job failed', { code: err.code, message: err.message, durationMs: Math.round(performance.now() - started) });
      return jobFailure(err);
    }
  }));
  // process() checks for stalled jobs once; only a periodic check re-queues the job of a worker that died
  // later. Several workers may all check: a Redis key lets one check per interval through.
  queue.checkStalledJobs(services.config.STALL_INTERVAL_MS).catch((err: unknown) => services.logger.warn('stall check failed', { queue: name, err: serializeError(err) }));
}

/** Counts the job in services.jobStats (metrics, watchdog) whichever way it ends. */
function measured<T, R>(services: Services, queue: QueueName, handler: (job: Queue.Job<T>) => Promise<JobResult<R>>): (job: Queue.Job<T>) => Promise<JobResult<R>> {
  return async (job) => {
    const started = performance.now();
    services.jobStats.started(queue);
    services.logger.debug('job started', { queue, jobId: job.id });
    let outcome: JobOutcome = 'errored';
    try {
      const result = await handler(job);
      outcome = result.ok ? 'succeeded' : 'failed';
      return result;
    } finally {
      services.jobStats.finished(queue, outcome, performance.now() - started);
    }
  };
}

/** Stores the latest progress in Redis for GET /jobs; a failure (Redis away) is logged once per job and otherwise ignored. */
function progressReporter(services: Services, queue: QueueName, jobId: string, logger: Logger): (progress: JobProgress) => void {
  let isWarned = false;
  return (progress) => {
    writeJobProgress(services.redis, services.config.QUEUE_PREFIX, queue, jobId, progress).catch((err: unknown) => {
      if (!isWarned) logger.warn('job progress not stored; GET /jobs shows an older value', { err: serializeError(err) });
      isWarned = true;
    });
  };
}

/** This attempt's number: jobs are enqueued with JOB_ATTEMPTS - 1 retries, and Bee-Queue counts them down. */
function attemptNumber(job: Queue.Job<unknown>, maxAttempts: number): number {
  const retriesLeft = (job.options as { retries?: number }).retries ?? 0;
  return Math.max(1, maxAttempts - retriesLeft);
}

/** After the last retry: the failure is stored, so GET /jobs answers with it. */
async function storeFailure(services: Services, queue: QueueName, jobId: string, requestId: string, err: Error): Promise<void> {
  try {
    await saveJobOutcome(services.db, {
      queue,
      jobId,
      status: 'failed',
      attempts: services.config.JOB_ATTEMPTS,
      error: { code: 'job_failed', message: err.message },
      requestId,
    });
  } catch (storeErr) {
    services.logger.error('could not store job failure', { queue, jobId, err: serializeError(storeErr) });
  }
}
