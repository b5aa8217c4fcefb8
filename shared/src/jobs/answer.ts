/** The answer queue: retrieve, generate (streamed), store exactly one assistant message per question. */
import { z } from 'zod';

export const ANSWER_QUEUE = 'answer';

export const AnswerJob = z.strictObject({
  sessionId: z.string().max(64),
  messageId: z.number().int().positive(),
  k: z.number().int().positive(),
  where: z.unknown().optional(), // validated by the API, parsed again by the worker
  requestId: z.string().max(128),
});
export type AnswerJob = z.infer<typeof AnswerJob>;

/** Deterministic: a client's retry or a re-enqueue never makes a second job for one question. */
export function answerJobId(messageId: number): string {
  return `answer:${messageId}`;
}

const ANSWER_JOB_ID = /^answer:([1-9][0-9]{0,14})$/;

/** The question's message id named by an answer job id, or undefined for anything else. */
export function messageIdOfAnswerJob(jobId: string): number | undefined {
  const match = ANSWER_JOB_ID.exec(jobId);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** The error code of a question whose answer was cancelled (POST /jobs/answer/:id/cancel). */
export const CANCELLED_CODE = 'cancelled';

export interface AnswerSource {
  documentId: string;
  chunkId: number;
  score: number;
  title: string | null; // source n of the answer text is sources[n - 1]
}

/** Metadata of the assistant message that answers a question. */
export interface AnalysisResult {
  type: 'analysis_result';
  sources: AnswerSource[];
  jobId: string;
  answerer: string; // 'extractive' | 'ollama'
  model: string | null;
  timings: { retrieveMs: number; generateMs: number; totalMs: number };
}

/** Metadata of the assistant message stored when no answer will come: failed for good, or cancelled. */
export interface AnalysisError {
  type: 'analysis_error';
  error: { code: string; message: string }; // code 'cancelled' for a cancelled question
  jobId: string;
}

export interface AnswerResult {
  status: 'answered' | 'cancelled' | 'failed' | 'already_answered';
  messageId: number; // the assistant message
  replyTo: number; // the question
}
