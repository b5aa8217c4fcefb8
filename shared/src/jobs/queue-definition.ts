/**
 * What makes a queue what it is, in one value: its name, its payload schema, and its policy. The
 * queue connections (queue/queues.ts), enqueueing (queue/enqueue.ts), the worker's processor wrapper
 * and GET /jobs all read these definitions; no rule of one queue is written anywhere else.
 */
import type { Knex } from 'knex';
import type { z } from 'zod';
import type { Config } from '../config.js';
import type { Events } from '../events.js';
import type { JobFailure } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OutcomeStatus } from '../db/jobs-repo.js';

/** What a processor returns across the queue: a value, or an expected failure a retry cannot fix. */
export type JobResult<T> = { ok: true; value: T } | JobFailure;

export interface QueuePolicy {
  timeoutMs(config: Config): number; // one attempt
  concurrency(config: Config): number; // jobs at once per worker
  attempts(config: Config): number; // 1: never retried
  backoffMs(config: Config): number; // first retry delay; doubles with jitter
  /** The API waits for the result (it travels as a queue event) instead of answering 202. */
  isAwaited: boolean;
  /** Attempts are counted in SQL before each one starts, stalls included, and capped at attempts(). */
  isAttemptCapped: boolean;
  /** The outcome is stored in SQL, where GET /jobs reads it after the job left Redis. */
  isOutcomeStored: boolean;
  /** An attempt-capped job that ran before runs alone among this worker's jobs of such queues (worker/src/processors/retry-isolation.ts). */
  isRetryIsolated: boolean;
  outcomeLogLevel: 'info' | 'debug'; // of the line that ends each job
}

/**
 * POST /jobs/:queue/:id/retry: refused with a reason, or allowed; the failed job then runs again
 * with its recorded payload, after `prepare` put back what it works on (an ingest's document).
 */
export type RetryRule<Payload> =
  { isAllowed: false; reason: string } | { isAllowed: true; prepare(s: Pick<GaveUpServices, 'db'>, failed: { jobId: string; data: Payload }): Promise<void> };

/** What a give-up handler may use: shared parts only, so the API and the worker agree on it. */
export interface GaveUpServices {
  db: Knex;
  events: Events;
  logger: Logger;
}

export interface QueueDefinition<Name extends string, Payload extends { requestId: string }, Result> {
  name: Name;
  payload: z.ZodType<Payload>;
  policy: QueuePolicy;
  retry: RetryRule<Payload>;
  /** The stored status of a finished job's result (an answer may end cancelled). */
  outcomeStatus(result: Result): OutcomeStatus;
  /**
   * Runs once when the job will not be tried again (an unrecoverable error, the attempt cap, or the
   * last retry's failure), so that no client waits forever: the document is failed, the question
   * gets its error message.
   */
  onGaveUp?(s: GaveUpServices, job: Payload, err: Error): Promise<void>;
}

export function defineQueue<Name extends string, Payload extends { requestId: string }, Result>(
  definition: QueueDefinition<Name, Payload, Result>,
): QueueDefinition<Name, Payload, Result> {
  return definition;
}

export const succeeded = (): OutcomeStatus => 'succeeded';

/**
 * The policy of a job a client is answered 202 for and may ask about later (ingest, remove,
 * answer): JOB_ATTEMPTS attempts with jittered back-off from JOB_BACKOFF_MS, counted in SQL, the
 * outcome stored there; only its timeout and concurrency settings are its own, and whether its
 * retries run alone (the ingest queues: many of their jobs run at once, and they are short).
 */
export function acknowledgedJobPolicy(
  timeoutMs: (config: Config) => number,
  concurrency: (config: Config) => number,
  options: { isRetryIsolated?: boolean } = {},
): QueuePolicy {
  return {
    timeoutMs,
    concurrency,
    attempts: (c) => c.JOB_ATTEMPTS,
    backoffMs: (c) => c.JOB_BACKOFF_MS,
    isAwaited: false,
    isAttemptCapped: true,
    isOutcomeStored: true,
    isRetryIsolated: options.isRetryIsolated ?? false,
    outcomeLogLevel: 'info',
  };
}
