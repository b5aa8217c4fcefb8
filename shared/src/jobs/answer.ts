/** The answer queue: retrieve, generate (streamed), store exactly one assistant message per question. */
import { z } from 'zod';
import { CollectionId, DEFAULT_COLLECTION } from '../input.js';
import { AppError } from '../errors.js';
import { storeErrorReply } from '../store-reply.js';
import { acknowledgedJobPolicy, defineQueue } from './queue-definition.js';
import { WherePayload } from './where-payload.js';

export const AnswerJob = z.strictObject({
  collection: CollectionId.default(DEFAULT_COLLECTION), // the session's: the answer is retrieved from it
  sessionId: z.string().max(64),
  messageId: z.number().int().positive(),
  k: z.number().int().positive(),
  where: WherePayload.optional(),
  requestId: z.string().max(128),
});
export type AnswerJob = z.infer<typeof AnswerJob>;

/** Deterministic: a client's retry or a re-enqueue never makes a second job for one question. */
export function answerJobId(messageId: number): string {
  return `answer:${messageId}`;
}

const ANSWER_JOB_ID = /^answer:([1-9][0-9]{0,9})$/;

/** Message ids are a 32-bit integer column (Postgres `integer`): nothing larger can name one. */
export const MAX_MESSAGE_ID = 2_147_483_647;

/** The question's message id named by an answer job id, or undefined for anything else. */
export function messageIdOfAnswerJob(jobId: string): number | undefined {
  const match = ANSWER_JOB_ID.exec(jobId);
  const id = match?.[1] === undefined ? undefined : Number(match[1]);
  return id !== undefined && id <= MAX_MESSAGE_ID ? id : undefined;
}

export interface AnswerResult {
  status: 'answered' | 'cancelled' | 'failed' | 'already_answered';
  messageId: number; // the assistant message
  replyTo: number; // the question
}

export const answerQueue = defineQueue<'answer', AnswerJob, AnswerResult>({
  name: 'answer',
  payload: AnswerJob,
  policy: acknowledgedJobPolicy(
    (c) => c.ANSWER_TIMEOUT_MS,
    (c) => c.ANSWER_CONCURRENCY,
  ),
  retry: { isAllowed: false, reason: "answer jobs are not retried here: the failure is the chat's stored answer; ask the question again" },
  outcomeStatus: (result) => (result.status === 'cancelled' ? 'cancelled' : result.status === 'failed' ? 'failed' : 'succeeded'),
  // The question gets its error message (once), so no client waits forever.
  onGaveUp: async (s, job, err) => {
    const code = err instanceof AppError ? err.code : 'answer_failed';
    await storeErrorReply(s, { sessionId: job.sessionId, replyTo: job.messageId, jobId: answerJobId(job.messageId), code, message: err.message });
  },
});
