/**
 * What SQL knows of every job that is not a search: its attempts and its outcome. Bee-Queue keeps
 * a job's status but not its result, finished jobs leave Redis, and Bee-Queue re-runs a stalled job
 * forever, so the attempt count (bumped before each attempt starts) and every outcome a client may
 * ask for later (ingest and removal counts, errors) live here, read by GET /jobs.
 */
import type { Knex } from 'knex';
import { fromJsonColumn, nowMs, toJsonColumn } from './columns.js';

export type OutcomeStatus = 'succeeded' | 'failed' | 'cancelled';
export type JobRecordStatus = 'active' | OutcomeStatus; // active: attempted at least once, not ended

export interface JobError {
  code: string;
  message: string;
}

export interface JobRecord {
  queue: string;
  jobId: string;
  status: JobRecordStatus;
  attempts: number;
  result: unknown;
  error: JobError | null;
  requestId: string | null;
  updatedAt: string;
}

export interface JobOutcome {
  queue: string;
  jobId: string;
  status: OutcomeStatus;
  attempts?: number | undefined; // omitted: the attempts counted so far stand
  result?: unknown;
  error?: JobError | null | undefined;
  requestId?: string | null | undefined;
}

interface JobRow {
  queue: string;
  job_id: string;
  status: JobRecordStatus;
  attempts: number;
  result: unknown;
  error: unknown;
  request_id: string | null;
  updated_at: number;
}

/** Counts one more attempt of the job before it starts; returns this attempt's number (1 for the first). */
export async function claimJobAttempt(db: Knex, ref: { queue: string; jobId: string; requestId: string }): Promise<number> {
  const now = nowMs();
  const rows: Array<{ attempts: number }> = await db('jobs')
    .insert({ queue: ref.queue, job_id: ref.jobId, status: 'active', attempts: 1, request_id: ref.requestId, updated_at: now })
    .onConflict(['queue', 'job_id'])
    .merge({ attempts: db.raw('jobs.attempts + 1'), updated_at: now })
    .returning(['attempts']);
  const [row] = rows;
  if (!row) throw new Error(`attempt of job ${ref.queue}/${ref.jobId} was not counted`);
  return row.attempts;
}

export async function saveJobOutcome(db: Knex, outcome: JobOutcome): Promise<void> {
  const changes = {
    status: outcome.status,
    result: outcome.result === undefined ? null : toJsonColumn(outcome.result),
    error: outcome.error ? toJsonColumn(outcome.error) : null,
    request_id: outcome.requestId ?? null,
    updated_at: nowMs(),
    ...(outcome.attempts === undefined ? {} : { attempts: outcome.attempts }),
  };
  await db('jobs')
    .insert({ queue: outcome.queue, job_id: outcome.jobId, attempts: 0, ...changes })
    .onConflict(['queue', 'job_id'])
    .merge(changes);
}

export async function findJobRecord(db: Knex, queue: string, jobId: string): Promise<JobRecord | undefined> {
  const row = (await db('jobs').where({ queue, job_id: jobId }).first()) as JobRow | undefined;
  if (!row) return undefined;
  return {
    queue: row.queue,
    jobId: row.job_id,
    status: row.status,
    attempts: row.attempts,
    result: row.result === null ? null : fromJsonColumn(row.result),
    error: row.error === null ? null : fromJsonColumn<JobError>(row.error),
    requestId: row.request_id,
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

/** The record's outcome, or undefined while the job has not ended. */
export function outcomeOf(record: JobRecord | undefined): (JobRecord & { status: OutcomeStatus }) | undefined {
  return record && record.status !== 'active' ? { ...record, status: record.status } : undefined;
}

/** Forgets a job: POST /jobs/:queue/:id/retry runs it again under the same id, from attempt 1. */
export async function deleteJobRecord(db: Knex, queue: string, jobId: string): Promise<void> {
  await db('jobs').where({ queue, job_id: jobId }).del();
}
