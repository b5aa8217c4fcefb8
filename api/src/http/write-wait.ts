/**
 * ?wait=true on writes: wait until each change is searchable through every live worker, or its job
 * failed, or the time is up. A job's stored outcome (SQL) gives the vector_log seq of its commit;
 * the heartbeats list the live workers and, with the seqs workers record on hearing a commit
 * (shared/src/applied-seqs.ts), what each has applied. States: pending (the job has not ended),
 * committed (stored; some live worker has not applied it yet), searchable, failed, superseded
 * (a newer revision of the document was posted before this one was indexed). A batch item that was
 * requeued (the batch was split into one ingest job per document) is followed to its ingest job.
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../../../shared/src/config.js';
import { readAppliedSeqs } from '../../../shared/src/applied-seqs.js';
import { findJobRecords, outcomeOf, type JobError } from '../../../shared/src/db/jobs-repo.js';
import { readHeartbeats } from '../../../shared/src/heartbeats.js';
import { sleep } from '../../../shared/src/time-limits.js';

const POLL_MS = 20;

export const WRITE_STATES = ['pending', 'committed', 'searchable', 'failed', 'superseded'] as const;
export type WriteState = (typeof WRITE_STATES)[number];
const ENDED: ReadonlySet<WriteState> = new Set(['searchable', 'failed', 'superseded']);

export interface WaitTarget {
  queue: 'ingest' | 'ingest-batch' | 'remove';
  jobId: string;
  documentId?: string; // ingest-batch: which of the batch's documents
  collection: string;
}

export interface WriteProgress {
  state: WriteState;
  seq: number | null; // the commit's vector_log seq, once known
  jobError?: JobError;
}

type WaitServices = { db: Knex; redis: Redis; config: Pick<Config, 'QUEUE_PREFIX' | 'HEARTBEAT_INTERVAL_MS'> };

const StoredOutcome = z.object({ status: z.string().optional(), seq: z.number().int().nonnegative().optional(), error: z.string().optional() });
const StoredBatchItem = StoredOutcome.extend({ documentId: z.string(), job: z.object({ queue: z.literal('ingest'), id: z.string() }).optional() });
const StoredBatchOutcome = z.object({ documents: z.array(StoredBatchItem) });

/** Each target's progress when all have ended or `timeoutMs` passed; isDone says which. */
export async function waitUntilSearchable(
  s: WaitServices,
  targets: readonly WaitTarget[],
  timeoutMs: number,
): Promise<{ progress: WriteProgress[]; isDone: boolean }> {
  const deadline = Date.now() + timeoutMs;
  const progress: WriteProgress[] = targets.map(() => ({ state: 'pending', seq: null }));
  const following = [...targets]; // a requeued batch item is followed to its own ingest job
  for (;;) {
    await settleJobs(s.db, following, progress);
    await checkWorkers(s, following, progress).catch(() => undefined); // Redis away: the workers' state is unknown, so keep waiting
    const isDone = progress.every((p) => ENDED.has(p.state));
    const left = deadline - Date.now();
    if (isDone || left <= 0) return { progress, isDone };
    await sleep(Math.min(POLL_MS, left));
  }
}

/**
 * Pending targets whose job ended: committed with its seq, failed with its error, or superseded. A
 * requeued batch item stays pending and its target becomes its ingest job, for the next poll.
 */
async function settleJobs(db: Knex, targets: WaitTarget[], progress: WriteProgress[]): Promise<void> {
  for (const queue of ['ingest', 'ingest-batch', 'remove'] as const) {
    const pending = targets.map((t, i) => ({ t, i })).filter(({ t, i }) => t.queue === queue && progress[i]?.state === 'pending');
    if (pending.length === 0) continue;
    const records = await findJobRecords(db, queue, [...new Set(pending.map(({ t }) => t.jobId))]);
    for (const { t, i } of pending) {
      const outcome = outcomeOf(records.get(t.jobId));
      if (!outcome) continue;
      if (outcome.status !== 'succeeded') {
        progress[i] = { state: 'failed', seq: null, ...(outcome.error ? { jobError: outcome.error } : {}) };
        continue;
      }
      const stored = queue === 'ingest-batch' ? batchItemOf(outcome.result, t.documentId) : outcome.result;
      const requeuedAs = requeuedJobOf(stored);
      if (requeuedAs !== undefined) targets[i] = { queue: 'ingest', jobId: requeuedAs, collection: t.collection };
      else progress[i] = progressOf(stored);
    }
  }
}

/** One document's entry in an ingest-batch outcome. */
function batchItemOf(result: unknown, documentId: string | undefined): unknown {
  const parsed = StoredBatchOutcome.safeParse(result);
  return parsed.success ? parsed.data.documents.find((d) => d.documentId === documentId) : undefined;
}

/** The ingest job id of a batch item that was requeued, if it was. */
function requeuedJobOf(stored: unknown): string | undefined {
  const item = StoredBatchItem.safeParse(stored);
  return item.success && item.data.status === 'requeued' ? item.data.job?.id : undefined;
}

/** A succeeded job's (or batch item's) stored outcome as progress: committed with its seq, superseded, or failed alone. */
function progressOf(stored: unknown): WriteProgress {
  const result = StoredOutcome.safeParse(stored);
  if (!result.success) return { state: 'searchable', seq: null };
  const { status, seq, error } = result.data;
  if (status === 'superseded') return { state: 'superseded', seq: null };
  if (status === 'failed') return { state: 'failed', seq: null, jobError: { code: 'too_many_chunks', message: error ?? 'the document failed' } };
  return seq === undefined ? { state: 'searchable', seq: null } : { state: 'committed', seq }; // no seq: nothing was logged (a dry run)
}

/** Committed targets every live worker has applied become searchable. */
async function checkWorkers(s: WaitServices, targets: readonly WaitTarget[], progress: WriteProgress[]): Promise<void> {
  const collections = new Set(targets.filter((_, i) => progress[i]?.state === 'committed').map((t) => t.collection));
  if (collections.size === 0) return;
  const live = await readHeartbeats(s.redis, s.config.QUEUE_PREFIX, s.config.HEARTBEAT_INTERVAL_MS * 3);
  if (live.length === 0) return; // nobody could answer a search yet
  for (const collection of collections) {
    const applied = await readAppliedSeqs(s.redis, s.config.QUEUE_PREFIX, collection, live);
    const lowest = Math.min(...applied.map((w) => w.appliedSeq));
    targets.forEach((t, i) => {
      const p = progress[i];
      if (p?.state === 'committed' && t.collection === collection && p.seq !== null && p.seq <= lowest) progress[i] = { state: 'searchable', seq: p.seq };
    });
  }
}
