/**
 * GET /jobs: what SQL knows of the jobs of the key's collections, most recently changed first.
 * GET /jobs/:queue/:id: Bee-Queue knows a live job's status; the worker stores its progress in Redis
 * (queue/job-progress.ts); SQL keeps outcomes (finished jobs are removed from Redis) and our own
 * attempt counter (stalls included), so together they answer for any job we ever ran. While Redis is
 * away a stored outcome still answers; a live job is a 503.
 * POST /jobs/:queue/:id/retry: a failed job runs again under the same id where its queue's retry rule
 * allows it (jobs/<queue>.ts); the failed Bee-Queue job and its SQL record are removed first.
 * POST /jobs/answer/:id/cancel: the web cannot reach a worker's memory, so a cancel is a Redis flag
 * plus a pub/sub message; a running job aborts its model call and stores the cancelled message, and
 * a job no worker runs is taken off the queue and its cancelled message stored here.
 * A job belongs to the collection its payload names (an answer: its session's); for a key outside
 * that collection the job does not exist (404), as authorize.ts does for collection routes.
 */
import { Router } from 'express';
import { z } from 'zod';
import type Queue from 'bee-queue';
import {
  findJobRecord,
  JOB_RECORD_STATUSES,
  listJobRecords,
  outcomeOf,
  resetJobRecord,
  saveJobOutcome,
  type JobRecord,
  type JobRecordStatus,
} from '../../../shared/src/db/jobs-repo.js';
import type { Config } from '../../../shared/src/config.js';
import { enqueue, ensureQueueConnected } from '../../../shared/src/queue/enqueue.js';
import { withTimeout } from '../../../shared/src/time-limits.js';
import { readJobProgress, progressPercent, removeJobProgress, type JobProgress } from '../../../shared/src/queue/job-progress.js';
import { findChatMessage, findReply, findSessionCollection, type ChatMessage } from '../../../shared/src/db/chat-repo.js';
import { ConflictError, NotFoundError } from '../../../shared/src/errors.js';
import { DEFAULT_COLLECTION } from '../../../shared/src/input.js';
import { messageIdOfAnswerJob } from '../../../shared/src/jobs/answer.js';
import { CANCELLED_CODE } from '../../../shared/src/jobs/answer-messages.js';
import { QUEUES, QUEUE_NAMES } from '../../../shared/src/jobs/queue-table.js';
import { queueKey } from '../../../shared/src/queue/queues.js';
import { isCancelledReply, storeErrorReply } from '../../../shared/src/store-reply.js';
import { parse } from '../../../shared/src/validation.js';
import { canSeeCollection, principalOf, reachesAllCollections, scopeList, type Principal } from '../http/access.js';
import { localsOf, type RequestLocals } from '../http/request-context.js';
import type { ApiServices } from '../services.js';

export const JobRef = z.strictObject({
  queue: z.enum(QUEUE_NAMES),
  id: z.string().regex(/^[A-Za-z0-9_.:@-]{1,200}$/, 'must be a job id'),
});

/** GET /jobs's query; the route registry describes this same one. */
export function createJobSchemas(config: Pick<Config, 'MAX_PAGE_SIZE'>) {
  const JobListQuery = z.strictObject({
    queue: z.enum(QUEUE_NAMES).optional(),
    status: z.enum(JOB_RECORD_STATUSES as [JobRecordStatus, ...JobRecordStatus[]]).optional(),
    limit: z
      .string()
      .regex(/^[0-9]{1,6}$/, 'must be a whole number written in digits')
      .transform(Number)
      .pipe(z.number().int().min(1).max(config.MAX_PAGE_SIZE))
      .default(50)
      .meta({ type: 'integer', minimum: 1, maximum: config.MAX_PAGE_SIZE }),
  });
  return { JobListQuery };
}

export type JobStatus = 'waiting' | 'active' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';
type JobRef = z.infer<typeof JobRef>;

const REDIS_TIMEOUT_MS = 1_000;

export function jobsRouter(s: ApiServices): Router {
  const router = Router();
  const { JobListQuery } = createJobSchemas(s.config);
  router.get('/jobs', async (req, res) => {
    const query = parse(JobListQuery, { ...req.query }, 'query');
    const principal = principalOf(res);
    const collections = reachesAllCollections(principal) ? undefined : scopeList(principal);
    const records = await listJobRecords(s.db, { ...query, collections });
    res.json({ jobs: records.map(listedJob) });
  });
  router.get('/jobs/:queue/:id', async (req, res) => {
    res.json(await jobView(s, parse(JobRef, { ...req.params }, 'job'), principalOf(res)));
  });
  router.post('/jobs/:queue/:id/retry', async (req, res) => {
    res.status(202).json(await retryJob(s, parse(JobRef, { ...req.params }, 'job'), principalOf(res)));
  });
  router.post('/jobs/answer/:id/cancel', async (req, res) => {
    const id = parse(JobRef.shape.id, req.params['id'], 'job id');
    const messageId = messageIdOfAnswerJob(id);
    const question = messageId === undefined ? undefined : await findChatMessage(s.db, messageId);
    const collection = question ? await findSessionCollection(s.db, question.sessionId) : undefined;
    if (!question || question.role !== 'user' || collection === undefined || !canSeeCollection(principalOf(res), collection)) {
      throw new NotFoundError(`job answer/${id} not found`);
    }
    const outcome = await cancelAnswer(s, question, id, localsOf(res));
    res.status(outcome.status === 'cancelling' ? 202 : 200).json({ job: { queue: 'answer', id }, ...outcome });
  });
  return router;
}

function listedJob(r: JobRecord) {
  return {
    id: r.jobId,
    queue: r.queue,
    collection: r.collection,
    status: r.status,
    attempts: r.attempts,
    ...(r.result != null ? { result: r.result } : {}),
    ...(r.error != null ? { error: r.error } : {}),
    updatedAt: r.updatedAt,
  };
}

/** GET /jobs/:queue/:id: what SQL recorded, completed by what Redis holds while the job lives. */
async function jobView(s: ApiServices, ref: JobRef, principal: Principal) {
  const record = await findJobRecord(s.db, ref.queue, ref.id);
  const outcome = outcomeOf(record);
  const live = await readLiveJob(s, ref).catch((err: unknown) => {
    if (record) return undefined; // Redis away: what SQL knows answers alone
    throw err;
  });
  if ((!live?.job && !record) || !canSeeCollection(principal, collectionOfJob(record, live))) throw new NotFoundError(`job ${ref.queue}/${ref.id} not found`);
  const status: JobStatus = outcome?.status ?? live?.status ?? 'waiting';
  const error = outcome?.error ?? (live?.status === 'failed' ? live.error : undefined);
  return {
    id: ref.id,
    queue: ref.queue,
    status,
    progress: status === 'succeeded' ? 100 : live?.progress ? progressPercent(live.progress) : 0,
    ...(live?.progress ? { progressDetail: live.progress } : {}),
    attempts: attemptsOf(s, ref, record, live),
    ...(outcome?.result != null ? { result: outcome.result } : {}),
    ...(error != null ? { error } : {}),
  };
}

/** POST /jobs/:queue/:id/retry: a failed job is enqueued again under its id, from the payload SQL recorded. */
async function retryJob(s: ApiServices, ref: JobRef, principal: Principal) {
  const { retry } = QUEUES[ref.queue];
  if (!retry.isAllowed) throw new ConflictError(retry.reason);
  const record = await findJobRecord(s.db, ref.queue, ref.id);
  const live = await readLiveJob(s, ref);
  if ((!live.job && !record) || !canSeeCollection(principal, collectionOfJob(record, live))) throw new NotFoundError(`job ${ref.queue}/${ref.id} not found`);
  const status = live.job ? live.status : outcomeOf(record)?.status;
  if (status !== 'failed') throw new ConflictError(`job ${ref.queue}/${ref.id} is ${status ?? 'unknown'}: only a failed job can be retried`);
  const data = QUEUES[ref.queue].payload.safeParse(record?.data);
  if (!data.success) throw new ConflictError(`job ${ref.queue}/${ref.id} has no recorded payload: send the request again`);
  await retry.prepare(s, { jobId: ref.id, data: data.data as never }); // parsed by this queue's own schema just above
  await forgetJob(s, ref, live.job !== undefined);
  const queue = s.queues[ref.queue] as Queue<unknown>;
  return { job: await enqueue(queue, s.config, ref.id, data.data), status: 'waiting' as const };
}

/**
 * Cancels a question's answer job. Its flag is set first, so a worker taking the job from then on
 * sees it. A job a worker runs is aborted there ('cancelling': that worker stores the cancelled
 * message); any other is taken off the queue and its cancelled message stored here, at once.
 */
async function cancelAnswer(
  s: ApiServices,
  question: ChatMessage,
  jobId: string,
  { requestId, logger }: RequestLocals,
): Promise<{ status: 'cancelling' } | { status: 'cancelled'; message: ChatMessage }> {
  const finished = () => new ConflictError(`job answer/${jobId} has finished: the question has its answer`);
  const earlier = await findReply(s.db, question.id);
  if (earlier) {
    if (!isCancelledReply(earlier)) throw finished();
    return { status: 'cancelled', message: earlier };
  }
  const isActive = async () => (await s.redis.lpos(queueKey(s.config.QUEUE_PREFIX, 'answer', 'active'), jobId)) !== null;
  // Looked at before the flag too: a worker that was running the job may finish it (cancelled) before the second look.
  const wasActive = await isActive();
  await s.events.requestCancel(jobId);
  if (wasActive) return { status: 'cancelling' };
  const queued = await s.queues.answer.getJob(jobId);
  if (queued && (await isActive())) return { status: 'cancelling' };
  if (queued) await s.queues.answer.removeJob(jobId);
  const stored = await storeErrorReply(
    { db: s.db, events: s.events, logger },
    {
      sessionId: question.sessionId,
      replyTo: question.id,
      jobId,
      code: CANCELLED_CODE,
      message: 'cancelled by the client',
    },
  );
  if (!isCancelledReply(stored.message)) throw finished(); // the answer was stored first
  await saveJobOutcome(s.db, { queue: 'answer', jobId, status: 'cancelled', requestId }); // the attempts counted so far stand
  return { status: 'cancelled', message: stored.message };
}

const CollectionOfPayload = z.object({ collection: z.string().default(DEFAULT_COLLECTION) });

/** The collection a job belongs to: SQL's record, else the payload Redis holds; payloads from before collections are default's. */
function collectionOfJob(record: JobRecord | undefined, live: LiveJob | undefined): string {
  if (record) return record.collection;
  const parsed = CollectionOfPayload.safeParse(live?.job?.data ?? {});
  return parsed.success ? parsed.data.collection : DEFAULT_COLLECTION;
}

interface LiveJob {
  job: Queue.Job<unknown> | undefined; // undefined: Redis does not have it (finished, or lost)
  status: JobStatus | undefined;
  progress: JobProgress | undefined;
  error: { code: string; message: string } | undefined;
}

/** What Redis knows of the job, within REDIS_TIMEOUT_MS (503 otherwise, at once when Redis is known to be down). */
async function readLiveJob(s: ApiServices, ref: JobRef): Promise<LiveJob> {
  const queue = s.queues[ref.queue] as Queue<unknown>;
  const unavailable = `Redis is unavailable: the state of job ${ref.queue}/${ref.id} cannot be read`;
  ensureQueueConnected(queue, unavailable);
  const [job, position, progress] = await withTimeout(
    Promise.all([
      queue.getJob(ref.id),
      s.redis.lpos(queueKey(s.config.QUEUE_PREFIX, ref.queue, 'active'), ref.id),
      readJobProgress(s.redis, s.config.QUEUE_PREFIX, ref.queue, ref.id),
    ]),
    REDIS_TIMEOUT_MS,
    unavailable,
  );
  if (!job) return { job: undefined, status: undefined, progress: undefined, error: undefined };
  const status: JobStatus =
    position !== null ? 'active' : job.status === 'failed' || job.status === 'retrying' || job.status === 'succeeded' ? job.status : 'waiting';
  const stacktraces: unknown = Reflect.get(job.options ?? {}, 'stacktraces');
  const last = Array.isArray(stacktraces) && typeof stacktraces[0] === 'string' ? stacktraces[0].split('\n')[0] : undefined;
  return { job, status, progress, error: last === undefined ? undefined : { code: 'job_failed', message: last } };
}

/**
 * Attempts so far, the largest count we know: where the queue caps attempts our own counter in SQL
 * is exact (it counts crashed attempts, which Bee-Queue does not; the claim past the last attempt
 * only records that the job gave up, so it is not shown); a live job adds Bee-Queue's retries.
 */
function attemptsOf(s: ApiServices, ref: JobRef, record: JobRecord | undefined, live: LiveJob | undefined): number {
  const maxAttempts = QUEUES[ref.queue].policy.attempts(s.config);
  let attempts = Math.min(record?.attempts ?? 0, maxAttempts);
  if (live?.job) {
    const maxRetries = maxAttempts - 1;
    const retriesLeft: unknown = Reflect.get(live.job.options ?? {}, 'retries');
    attempts = Math.max(attempts, maxRetries - (typeof retriesLeft === 'number' ? retriesLeft : maxRetries) + (live.status === 'active' ? 1 : 0));
  }
  return attempts;
}

/** Removes the failed Bee-Queue job (else the same id cannot be enqueued again) and its progress; its SQL record is pending again. */
async function forgetJob(s: ApiServices, ref: JobRef, isInRedis: boolean): Promise<void> {
  const queue = s.queues[ref.queue] as Queue<unknown>;
  if (isInRedis) await withTimeout(queue.removeJob(ref.id), REDIS_TIMEOUT_MS, `Redis is unavailable: job ${ref.queue}/${ref.id} cannot be retried now`);
  await resetJobRecord(s.db, ref.queue, ref.id);
  await removeJobProgress(s.redis, s.config.QUEUE_PREFIX, ref.queue, ref.id).catch(() => undefined); // it expires within a day anyway
}
