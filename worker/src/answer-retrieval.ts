/**
 * What an answer is grounded on: the question read in its conversation, retrieved through the
 * search code path, and only the passages above the relevance floor (answerers/grounding.ts).
 * A follow-up is made standalone by the answerer's model when it has one (bounded, falls back to
 * the question); otherwise the session's last user turns are searched with it, with less weight
 * (retrieve.ts: their words join the lexical query, their vector is mixed in at half weight).
 */
import { listUserTurnsBefore, type ChatMessage } from '../../shared/src/db/chat-repo.js';
import type { AnswerJob } from '../../shared/src/jobs/answer.js';
import type { Passage } from './answerers/answerer.js';
import { relevantPassages } from './answerers/grounding.js';
import { retrieve } from './retrieve.js';
import type { Services } from './services.js';

export type AnswerRetrievalServices = Pick<Services, 'config' | 'db' | 'indexes' | 'answerer'>;

export interface AnswerRetrieval {
  passages: Passage[]; // relevant ones only, best first
  retrievalQuery: string; // what was searched: the rewritten question, or the question and its earlier turns
  isGrounded: boolean; // false: nothing relevant came back, and the answer says so
}

const CONTEXT_TURNS = 3; // earlier user turns a follow-up is read with

export async function retrieveForAnswer(s: AnswerRetrievalServices, question: ChatMessage, job: AnswerJob, signal: AbortSignal): Promise<AnswerRetrieval> {
  const earlier = (await listUserTurnsBefore(s.db, question.sessionId, question.id, CONTEXT_TURNS)).map((m) => m.content);
  const query = await standaloneQuestion(s, question.content, earlier, signal);
  const context = query === question.content && earlier.length > 0 && s.answerer.rewriteQuestion === undefined ? earlier.join('\n') : undefined;
  const hits = await retrieve(s, { collection: job.collection, query, context, k: job.k, where: job.where }, signal);
  signal.throwIfAborted();
  const retrievalQuery = context === undefined ? query : `${query}\n${context}`;
  const retrieved: Passage[] = hits.map((hit) => ({
    documentId: hit.documentId,
    chunkId: hit.chunkId,
    score: hit.score,
    vectorScore: hit.vectorScore,
    title: hit.title,
    text: hit.text,
  }));
  const passages = relevantPassages(retrievalQuery, retrieved, s.config.ANSWER_MIN_SCORE);
  return { passages, retrievalQuery, isGrounded: passages.length > 0 };
}

async function standaloneQuestion(s: AnswerRetrievalServices, question: string, earlier: string[], signal: AbortSignal): Promise<string> {
  if (earlier.length === 0 || s.answerer.rewriteQuestion === undefined) return question;
  const rewritten = await s.answerer.rewriteQuestion({ question, earlierQuestions: earlier, signal });
  signal.throwIfAborted(); // a rewrite never rejects, so a cancel or timeout during it is noticed here
  return rewritten;
}
