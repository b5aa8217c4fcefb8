/**
 * What SQL knows of every job that is not a search, from the moment it is acknowledged: its payload
 * (written in the same transaction as what the job is about, so the sweep can enqueue again any job
 * Redis lost), its attempts and its outcome. Bee-Queue keeps a job's status but not its result,
 * finished jobs leave Redis, and Bee-Queue re-runs a stalled job forever, so the attempt count
 * (bumped before each attempt starts) and every outcome a client may ask for later (ingest and
 * removal counts, errors) live here, read by GET /jobs.
 */
import type { Knex } from 'knex';
import { DEFAULT_COLLECTION } from '../input.js';
import { fromJsonColumn, nowMs, toJsonColumn } from './columns.js';

export type OutcomeStatus = 'succeeded' | 'failed' | 'cancelled';
export type JobRecordStatus = 'pending' | 'active' | OutcomeStatus; // pending: acknowledged; active: attempted, not ended
const UNFINISHED: JobRecordStatus[] = ['pending', 'active'];
export const JOB_RECORD_STATUSES: readonly JobRecordStatus[] = ['pending', 'active', 'succeeded', 'failed', 'cancelled'];

export interface JobError {
  code: string;
  message: string;
}

export interface JobRecord {
  queue: string;
  jobId: string;
  collection: string; // the collection its payload names
  status: JobRecordStatus;
  attempts: number;
  data: unknown; // the payload; null for jobs recorded before payloads were kept
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
  collection_id: string;
  status: JobRecordStatus;
  attempts: number;
  data: unknown;
  result: unknown;
  error: unknown;
  request_id: string | null;
  updated_at: number;
}

/**
 * Records an acknowledged job, pending, with its payload; call it in the transaction that stores
 * what the job is about. Recording the same job again changes nothing.
 */
export async function recordPendingJob(
  db: Knex,
  job: { queue: string; jobId: string; data: { requestId: string; collection?: string | undefined } },
): Promise<void> {
  await db('jobs')
    .insert({
      queue: job.queue,
      job_id: job.jobId,
      collection_id: job.data.collection ?? DEFAULT_COLLECTION,
      status: 'pending',
      attempts: 0,
      data: toJsonColumn(job.data),
      request_id: job.data.requestId,
      updated_at: nowMs(),
    })
    .onConflict(['queue', 'job_id'])
    .ignore();
}

export interface AttemptRef {
  queue: string;
  jobId: string;
  requestId: string;
  /** Count the attempt only if it is the job's first; a later one is reported (counted: false) and not written. */
  isFirstOnly?: boolean;
}

export interface ClaimedAttempt {
  attempt: number; // this attempt's number: 1 for the first
  endedAs: OutcomeStatus | undefined; // the job had ended before (a duplicate delivery): it is not run again
  counted: boolean; // false only for an isFirstOnly claim of a job that ran before: `attempt` is the number it would take
}

/** Counts one more attempt of the job before it starts (claimJobAttempts for one job). */
export async function claimJobAttempt(db: Knex, ref: AttemptRef): Promise<ClaimedAttempt> {
  const [claimed] = await claimJobAttempts(db, [ref]);
  if (!claimed) throw new Error(`attempt of job ${ref.queue}/${ref.jobId} was not counted`);
  return claimed;
}

/**
 * Counts one more attempt of each job before it starts, in one transaction (jobs that start
 * together take the write lock once), in order: a job named twice counts two attempts. Returns each
 * attempt's number and the job's status before it, in input order. A ref marked isFirstOnly is
 * counted only when no attempt of its job was counted before (retry-isolation.ts).
 */
export async function claimJobAttempts(db: Knex, refs: readonly AttemptRef[]): Promise<ClaimedAttempt[]> {
  const now = nowMs();
  return db.transaction(async (trx) => {
    const claimed: ClaimedAttempt[] = new Array<ClaimedAttempt>(refs.length);
    // Rows are locked in one order (queue, job id) whatever the input's: two workers counting
    // overlapping jobs (a stalled job delivered again) cannot deadlock on Postgres.
    const order = refs.map((ref, at) => ({ ref, at })).sort((a, b) => compareRefs(a.ref, b.ref) || a.at - b.at);
    for (const { ref, at } of order) {
      const before = (await trx('jobs').select('status', 'attempts').where({ queue: ref.queue, job_id: ref.jobId }).first()) as
        { status: JobRecordStatus; attempts: number } | undefined;
      const endedAs = before && !UNFINISHED.includes(before.status) ? (before.status as OutcomeStatus) : undefined;
      if (ref.isFirstOnly && before && before.attempts > 0 && endedAs === undefined) {
        claimed[at] = { attempt: Number(before.attempts) + 1, endedAs, counted: false };
        continue;
      }
      const rows: Array<{ attempts: number }> = await trx('jobs')
        .insert({ queue: ref.queue, job_id: ref.jobId, status: 'active', attempts: 1, request_id: ref.requestId, updated_at: now })
        .onConflict(['queue', 'job_id'])
        .merge({
          attempts: trx.raw('jobs.attempts + 1'),
          status: trx.raw("case when jobs.status = 'pending' then 'active' else jobs.status end"),
          updated_at: now,
        })
        .returning(['attempts']);
      const [row] = rows;
      if (!row) throw new Error(`attempt of job ${ref.queue}/${ref.jobId} was not counted`);
      claimed[at] = { attempt: row.attempts, endedAs, counted: true };
    }
    return claimed;
  });
}

function compareRefs(a: AttemptRef, b: AttemptRef): number {
  if (a.queue !== b.queue) return a.queue < b.queue ? -1 : 1;
  return a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0;
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
  return row ? toJobRecord(row) : undefined;
}

/** The most recently changed jobs first, of every collection or of the given ones, optionally of one queue and status. */
export async function listJobRecords(
  db: Knex,
  filter: { collections?: readonly string[] | undefined; queue?: string | undefined; status?: JobRecordStatus | undefined; limit: number },
): Promise<JobRecord[]> {
  let query = db('jobs').select('*').orderBy('updated_at', 'desc').orderBy('job_id').limit(filter.limit);
  if (filter.collections !== undefined) query = query.whereIn('collection_id', filter.collections);
  if (filter.queue !== undefined) query = query.where('queue', filter.queue);
  if (filter.status !== undefined) query = query.where('status', filter.status);
  return ((await query) as JobRow[]).map(toJobRecord);
}

function toJobRecord(row: JobRow): JobRecord {
  return {
    queue: row.queue,
    jobId: row.job_id,
    collection: row.collection_id,
    status: row.status,
    attempts: row.attempts,
    data: row.data === null ? null : fromJsonColumn(row.data),
    result: row.result === null ? null : fromJsonColumn(row.result),
    error: row.error === null ? null : fromJsonColumn<JobError>(row.error),
    requestId: row.request_id,
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

/** Several jobs of one queue at once (those recorded), by job id. */
export async function findJobRecords(db: Knex, queue: string, jobIds: readonly string[]): Promise<Map<string, JobRecord>> {
  const found = new Map<string, JobRecord>();
  for (let start = 0; start < jobIds.length; start += 500) {
    const rows = (await db('jobs')
      .where('queue', queue)
      .whereIn('job_id', jobIds.slice(start, start + 500))) as JobRow[];
    for (const row of rows) found.set(row.job_id, toJobRecord(row));
  }
  return found;
}

/** The record's outcome, or undefined while the job has not ended. */
export function outcomeOf(record: JobRecord | undefined): (JobRecord & { status: OutcomeStatus }) | undefined {
  return record && !UNFINISHED.includes(record.status) ? { ...record, status: record.status as OutcomeStatus } : undefined;
}

/** A failed job pending again from attempt 1: POST /jobs/:queue/:id/retry runs it again under the same id. */
export async function resetJobRecord(db: Knex, queue: string, jobId: string): Promise<void> {
  await db('jobs').where({ queue, job_id: jobId }).update({ status: 'pending', attempts: 0, result: null, error: null, updated_at: nowMs() });
}

/** Unfinished jobs not touched since `before`, oldest first: the sweep's candidates for a job Redis lost. */
export async function listUnfinishedJobs(db: Knex, before: number, limit: number): Promise<Array<{ queue: string; jobId: string; data: unknown }>> {
  const rows = (await db('jobs')
    .select('queue', 'job_id', 'data')
    .whereIn('status', UNFINISHED)
    .where('updated_at', '<', before)
    .whereNotNull('data')
    .orderBy('updated_at')
    .limit(limit)) as Array<{ queue: string; job_id: string; data: unknown }>;
  return rows.map((row) => ({ queue: row.queue, jobId: row.job_id, data: fromJsonColumn(row.data) }));
}

/** Marks a job seen by the sweep, so the next sweep does not look at it again before its time. */
export async function touchJob(db: Knex, queue: string, jobId: string): Promise<void> {
  await db('jobs').where({ queue, job_id: jobId }).update({ updated_at: nowMs() });
}
