/**
 * Store first, then publish: the one way a chat message is written and announced,
 * used by the worker (answers, failures, cancels) and the web (questions, cancels of waiting jobs).
 * A reply is stored at most once per question; only the call that stored it announces it. A failed
 * publish loses nothing: the message is in SQL, where SSE replay and polling find it.
 */
import type { Knex } from 'knex';
import type { AnswerSource } from './db/answer-sources-repo.js';
import { insertReply, type ChatMessage, type StoredMessage } from './db/chat-repo.js';
import type { Events } from './events.js';
import { CANCELLED_CODE, type AnalysisError } from './jobs/answer-messages.js';
import { serializeError, type Logger } from './logger.js';

export interface ReplyDeps {
  db: Knex;
  events: Pick<Events, 'publish'>;
  logger: Logger;
}

export async function storeReply(
  d: ReplyDeps,
  input: { sessionId: string; replyTo: number; content: string; metadata: Record<string, unknown>; sources?: readonly AnswerSource[] },
): Promise<StoredMessage> {
  const stored = await insertReply(d.db, input); // the sources commit with the message
  if (stored.isNew) await announceMessage(d, stored);
  return stored;
}

/** The assistant message saying no answer will come: `code` 'cancelled', or why it failed for good. */
export async function storeErrorReply(
  d: ReplyDeps,
  input: { sessionId: string; replyTo: number; jobId: string; code: string; message: string },
): Promise<StoredMessage> {
  const metadata: AnalysisError = { type: 'analysis_error', error: { code: input.code, message: input.message }, jobId: input.jobId };
  const content = input.code === CANCELLED_CODE ? 'The answer was cancelled.' : `No answer could be produced: ${input.message}`;
  return storeReply(d, { sessionId: input.sessionId, replyTo: input.replyTo, content, metadata: { ...metadata } });
}

/** Whether a stored reply is the message of a cancelled question. */
export function isCancelledReply(message: ChatMessage): boolean {
  const error = message.metadata['error'];
  return message.metadata['type'] === 'analysis_error' && typeof error === 'object' && error !== null && 'code' in error && error.code === CANCELLED_CODE;
}

export async function announceMessage(d: ReplyDeps, stored: StoredMessage): Promise<void> {
  try {
    await d.events.publish(stored.message.sessionId, { type: 'message', message: stored.message, prevId: stored.prevId });
  } catch (err) {
    d.logger.warn('message stored but not pushed; clients get it by replay or polling', { messageId: stored.message.id, err: serializeError(err) });
  }
}
