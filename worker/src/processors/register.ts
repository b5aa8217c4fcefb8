/**
 * Binds each queue of the table to its processor: the only file that calls queue.process. Every job
 * is handled alike, by its queue's definition (shared/src/jobs/<queue>.ts): the payload is parsed (a
 * malformed one fails without retry); where the queue caps attempts, the attempt is counted in SQL
 * before it starts (the attempts of jobs that start together in one transaction, attempt-ledger.ts),
 * so a job that keeps killing its worker ends instead of being re-run forever, and in the ingest
 * queues a job that ran before runs alone, so it takes no other job down with it (retry-isolation.ts); the
 * logger carries queue, job id and request id; an AppError becomes {ok:false} and ends the job;
 * anything else is rethrown for a retry. When a job will not be tried again, its queue's give-up
 * handler runs and the failure is stored. Each queue also gets its periodic stall check (without
 * it a dead worker's job is never retried), and every job is counted in services.jobStats.
 */
import type Queue from 'bee-queue';
import type { Knex } from 'knex';
import { AppError, UnrecoverableJobError, jobFailure } from '../../../shared/src/errors.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import { publicMessage } from '../../../shared/src/public-message.js';
import type { JobResult, QueueDefinition } from '../../../shared/src/jobs/queue-definition.js';
import { QUEUES, QUEUE_NAMES } from '../../../shared/src/jobs/queue-table.js';
import { saveJobOutcome, type AttemptRef, type ClaimedAttempt, type OutcomeStatus } from '../../../shared/src/db/jobs-repo.js';
import { writeJobProgress, type JobProgress } from '../../../shared/src/queue/job-progress.js';
import type { JobOutcome } from '../job-stats.js';
import type { Services } from '../services.js';
import { createAttemptLedger, type AttemptLedger } from './attempt-ledger.js';
import type { JobContext } from './job-context.js';
import { RetryIsolation, type LeaveTurn } from './retry-isolation.js';
import { PROCESSORS } from './processor-table.js';

type Payload = { requestId: string };
type AnyDefinition = QueueDefinition<string, Payload, unknown>;
type AnyProcessor = (services: Services, job: Payload, context: JobContext) => Promise<unknown>;

/** How a job's attempts are counted and when it may run: the attempt ledger, and the turns of queues whose retries run alone. */
interface Attempts {
  ledger: AttemptLedger;
  isolation: RetryIsolation;
}

interface Turn {
  attempt: number;
  endedAs: OutcomeStatus | undefined;
  leave: LeaveTurn;
}

const FREE_TURN: Turn = { attempt: 1, endedAs: undefined, leave: () => undefined };

export function registerProcessors(services: Services): void {
  const attempts = { ledger: createAttemptLedger(services.db), isolation: new RetryIsolation() };
  for (const name of QUEUE_NAMES) {
    bind(services, attempts, services.queues[name] as unknown as Queue<Payload>, QUEUES[name], PROCESSORS[name] as unknown as AnyProcessor);
  }
}

function bind(services: Services, attempts: Attempts, queue: Queue<Payload>, definition: AnyDefinition, processor: AnyProcessor): void {
  const { name, policy } = definition;
  queue.on('error', (err) => services.logger.warn('queue error', { queue: name, err: serializeError(err) }));
  queue.on('stalled', (jobId) => {
    services.jobStats.stalled(name);
    services.logger.warn('stalled job re-queued: its worker stopped reporting', { queue: name, jobId });
  });
  // Bee-Queue emits 'failed' for every failed attempt; job.status is 'failed' only after the last one.
  queue.on('failed', (job, err) => {
    const parsed = definition.payload.safeParse(job.data);
    if (job.status === 'failed' && parsed.success) void giveUp(services, definition, job.id, parsed.data, err, policy.attempts(services.config));
  });
  const handler = (job: Queue.Job<Payload>) => runAttempt(services, attempts, definition, processor, job);
  queue.process(policy.concurrency(services.config), measured(services, name, handler));
  // process() checks for stalled jobs once; only a periodic check re-queues the job of a worker that died
  // later. Several workers may all check: a Redis key lets one check per interval through.
  queue
    .checkStalledJobs(services.config.STALL_INTERVAL_MS)
    .catch((err: unknown) => services.logger.warn('stall check failed', { queue: name, err: serializeError(err) }));
}

/** One attempt of one job, under its queue's policy. */
async function runAttempt(
  services: Services,
  attempts: Attempts,
  definition: AnyDefinition,
  processor: AnyProcessor,
  job: Queue.Job<Payload>,
): Promise<JobResult<unknown>> {
  const { name, policy } = definition;
  const started = performance.now();
  const durationMs = () => Math.round(performance.now() - started);
  const parsed = definition.payload.safeParse(job.data);
  if (!parsed.success) {
    services.logger.error('malformed job payload', { queue: name, jobId: job.id, issues: parsed.error.issues.slice(0, 5) });
    return jobFailure(new UnrecoverableJobError('malformed_payload', `malformed ${name} job payload`));
  }
  const data = parsed.data;
  const logger = services.logger.child({ queue: name, jobId: job.id, requestId: data.requestId });
  const maxAttempts = policy.attempts(services.config);
  const { attempt, endedAs, leave } = await takeTurn(attempts, policy, { queue: name, jobId: job.id, requestId: data.requestId }, logger);
  if (endedAs !== undefined) {
    leave();
    logger.info('job already ended; a duplicate delivery is not run again', { endedAs });
    return { ok: true, value: null };
  }
  try {
    if (attempt > maxAttempts) throw new UnrecoverableJobError('gave_up', `gave up after ${attempt - 1} attempts (the worker crashed or stalled each time)`);
    const reportProgress = progressReporter(services, name, job.id, logger);
    let isSavedInCommit = false; // a processor that saved it in its commit returns that same result
    const saveOutcome = async (db: Knex, result: unknown) => {
      if (!policy.isOutcomeStored) return;
      const outcome = { queue: name, jobId: job.id, status: definition.outcomeStatus(result), attempts: attempt, result, requestId: data.requestId };
      await saveJobOutcome(db, outcome);
      isSavedInCommit = db !== services.db;
    };
    const value = await processor(services, data, { job: job as Queue.Job<unknown>, logger, attempt, reportProgress, saveOutcome });
    if (!isSavedInCommit) await saveOutcome(services.db, value);
    logger.log(policy.outcomeLogLevel, 'job succeeded', { durationMs: durationMs() });
    return { ok: true, value };
  } catch (err) {
    if (!(err instanceof AppError)) {
      logger.warn('job attempt failed', { attempts: attempt, durationMs: durationMs(), err: serializeError(err) });
      throw err;
    }
    await giveUp(services, definition, job.id, data, err, Math.min(attempt, maxAttempts));
    logger.info('job failed', { code: err.code, message: err.message, durationMs: durationMs() });
    return jobFailure(err);
  } finally {
    leave();
  }
}

/**
 * The attempt counted, once the job may run. A queue that caps attempts counts it in SQL; one whose
 * retries run alone first takes a shared turn and counts the attempt only if it is the job's first,
 * else gives the turn back and waits for one alone, then counts it (retry-isolation.ts).
 */
async function takeTurn(attempts: Attempts, policy: AnyDefinition['policy'], ref: AttemptRef, logger: Logger): Promise<Turn> {
  if (!policy.isAttemptCapped) return FREE_TURN;
  if (!policy.isRetryIsolated) return { ...(await attempts.ledger.claim(ref)), leave: FREE_TURN.leave };
  const shared = await attempts.isolation.shareTurn();
  const first = await countedOrLeave(attempts.ledger.claim({ ...ref, isFirstOnly: true }), shared);
  if (first.counted) return { ...first, leave: shared };
  shared();
  logger.info('job ran before; its attempt waits to run alone in this worker', { attempt: first.attempt });
  const alone = await attempts.isolation.aloneTurn();
  return { ...(await countedOrLeave(attempts.ledger.claim(ref), alone)), leave: alone };
}

/** The claim's answer; the turn is given back when the claim fails (the job is then retried by the queue). */
async function countedOrLeave(claim: Promise<ClaimedAttempt>, leave: LeaveTurn): Promise<ClaimedAttempt> {
  try {
    return await claim;
  } catch (err) {
    leave();
    throw err;
  }
}

/**
 * The job will not be tried again: its queue's give-up handler runs (the document is failed, the
 * question gets its error message) and the failure is stored for GET /jobs. An AppError keeps its
 * code; the last retry's thrown error is `job_failed`.
 */
async function giveUp(services: Services, definition: AnyDefinition, jobId: string, data: Payload, err: Error, attempts: number): Promise<void> {
  const { name, policy } = definition;
  const told = err instanceof AppError ? err : new Error(publicMessage(err), { cause: err }); // what clients may read
  try {
    await definition.onGaveUp?.(services, data, told);
    if (!policy.isOutcomeStored) return;
    const error = { code: err instanceof AppError ? err.code : 'job_failed', message: told.message };
    await saveJobOutcome(services.db, { queue: name, jobId, status: 'failed', attempts, error, requestId: data.requestId });
  } catch (storeErr) {
    services.logger.error('could not record that the job gave up', { queue: name, jobId, err: serializeError(storeErr) });
  }
}

/** Counts the job in services.jobStats (metrics, watchdog) whichever way it ends. */
function measured<T, R>(
  services: Services,
  queue: string,
  handler: (job: Queue.Job<T>) => Promise<JobResult<R>>,
): (job: Queue.Job<T>) => Promise<JobResult<R>> {
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
function progressReporter(services: Services, queue: string, jobId: string, logger: Logger): (progress: JobProgress) => void {
  let isWarned = false;
  return (progress) => {
    writeJobProgress(services.redis, services.config.QUEUE_PREFIX, queue, jobId, progress).catch((err: unknown) => {
      if (!isWarned) logger.warn('job progress not stored; GET /jobs shows an older value', { err: serializeError(err) });
      isWarned = true;
    });
  };
}
