/**
 * Bee-Queue keeps a job's status but not its result, and we remove finished jobs from Redis, so
 * every outcome a client may ask for later (ingest and removal counts, errors) is stored here.
 */
import type { Knex } from 'knex';
import { fromJsonColumn, nowMs, toJsonColumn } from './columns.js';

export type OutcomeStatus = 'succeeded' | 'failed' | 'cancelled';

export interface JobOutcome {
  queue: string;
  jobId: string;
  status: OutcomeStatus;
  attempts: number;
  result: unknown;
  error: { code: string; message: string } | null;
  requestId: string | null;
  updatedAt: string;
}

export async function saveJobOutcome(
  db: Knex,
  outcome: { queue: string; jobId: string; status: OutcomeStatus; attempts: number; result?: unknown; error?: { code: string; message: string } | null; requestId?: string | null },
): Promise<void> {
  const row = {
    queue: outcome.queue,
    job_id: outcome.jobId,
    status: outcome.status,
    attempts: outcome.attempts,
    result: outcome.result === undefined ? null : toJsonColumn(outcome.result),
    error: outcome.error ? toJsonColumn(outcome.error) : null,
    request_id: outcome.requestId ?? null,
    updated_at: nowMs(),
  };
  await db('job_outcomes').insert(row).onConflict(['queue', 'job_id']).merge();
}

export async function findJobOutcome(db: Knex, queue: string, jobId: string): Promise<JobOutcome | undefined> {
  const row = (await db('job_outcomes').where({ queue, job_id: jobId }).first()) as
    | { queue: string; job_id: string; status: OutcomeStatus; attempts: number; result: unknown; error: unknown; request_id: string | null; updated_at: number }
    | undefined;
  if (!row) return undefined;
  return {
    queue: row.queue,
    jobId: row.job_id,
    status: row.status,
    attempts: row.attempts,
    result: row.result === null ? null : fromJsonColumn(row.result),
    error: row.error === null ? null : fromJsonColumn(row.error),
    requestId: row.request_id,
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

/** Forgets an outcome: POST /jobs/:queue/:id/retry runs the job again under the same id. */
export async function deleteJobOutcome(db: Knex, queue: string, jobId: string): Promise<void> {
  await db('job_outcomes').where({ queue, job_id: jobId }).del();
}
