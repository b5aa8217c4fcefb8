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
