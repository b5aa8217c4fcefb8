/**
 * Answers one question: retrieve with the search code path, generate (tokens
 * published as deltas), store the one assistant message, then publish it. Idempotent per question
 * even when attempts overlap (a timed-out attempt keeps running while its retry starts): the reply insert is insert-or-ignore on reply_to, and only the winner publishes.
 * The model call aborts on the job timeout and on cancel; a cancel published before the job started
 * is seen through its flag, so no model is called. Every way out stores a message or throws; when
 * the job will not be tried again the queue's give-up handler (jobs/answer.ts) stores the error
 * message, so no client waits forever.
 */
import { AppError, NotFoundError } from '../../../shared/src/errors.js';
import { findChatMessage, findReply, type ChatMessage } from '../../../shared/src/db/chat-repo.js';
import type { ChatEvent } from '../../../shared/src/events.js';
import { answerJobId, type AnswerJob, type AnswerResult } from '../../../shared/src/jobs/answer.js';
import { CANCELLED_CODE, type AnalysisResult } from '../../../shared/src/jobs/answer-messages.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import { publicMessage } from '../../../shared/src/public-message.js';
import { isCancelledReply, storeErrorReply, storeReply, type ReplyDeps } from '../../../shared/src/store-reply.js';
import { retrieveForAnswer } from '../answer-retrieval.js';
import { checkCitations } from '../answerers/citations.js';
import { findChunkOrigins } from '../../../shared/src/db/chunks-repo.js';
import type { AnswerSource } from '../../../shared/src/db/answer-sources-repo.js';
import type { Passage } from '../answerers/answerer.js';
import type { Services } from '../services.js';
import type { JobContext } from './job-context.js';
import { answerDeltas } from './answer-deltas.js';

type AnswerServices = Pick<Services, 'config' | 'db' | 'indexes' | 'answerer' | 'events' | 'logger'>;

class AnswerCancelledError extends Error {
  constructor() {
    super('the answer was cancelled');
    this.name = 'AnswerCancelledError';
  }
}

class AnswerTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`the answer took longer than ${timeoutMs} ms (ANSWER_TIMEOUT_MS)`);
    this.name = 'AnswerTimeoutError';
  }
}

export async function processAnswer(s: AnswerServices, job: AnswerJob, { logger, attempt, reportProgress }: JobContext): Promise<AnswerResult> {
  const jobId = answerJobId(job.messageId);
  const d: ReplyDeps = { db: s.db, events: s.events, logger };
  const question = await findQuestion(s, job);
  const earlier = await findReply(s.db, question.id);
  if (earlier) return { status: 'already_answered', messageId: earlier.id, replyTo: question.id };

  const abort = watchAbort(s, jobId, logger);
  const a: AnswerAttempt = { s, d, question, jobId, attempt, logger };
  try {
    if (await abort.isCancelRequested()) return await storeCancelled(a);
    const { signal, isCancelRequested, cancel } = abort;
    const reply = await generateReply(s, { question, job, jobId, attempt, logger, reportProgress, signal, isCancelRequested, cancel });
    if (abort.isCancelled()) return await storeCancelled(a); // cancelled between the last token and here
    return await storeAnswer(a, reply);
  } catch (err) {
    if (abort.isCancelled()) return await storeCancelled(a);
    throw failedAttempt(a, abort.signal, err);
  } finally {
    abort.stop();
  }
}

/** What the steps of one attempt at one question share. */
interface AnswerAttempt {
  s: AnswerServices;
  d: ReplyDeps;
  question: ChatMessage;
  jobId: string;
  attempt: number;
  logger: Logger;
}

async function findQuestion(s: AnswerServices, job: AnswerJob): Promise<ChatMessage> {
  const question = await findChatMessage(s.db, job.messageId);
  if (!question || question.role !== 'user' || question.sessionId !== job.sessionId) {
    throw new NotFoundError(`question ${job.messageId} of session ${job.sessionId} not found`);
  }
  return question;
}

/** The attempt's abort signal: fired by a cancel of this job or by ANSWER_TIMEOUT_MS; stop() ends both. */
function watchAbort(s: AnswerServices, jobId: string, logger: Logger) {
  const controller = new AbortController();
  const cancel = () => controller.abort(new AnswerCancelledError());
  const stopListening = s.events.onCancel((cancelledId) => cancelledId === jobId && cancel()); // before the flag check: no gap
  const timer = setTimeout(() => controller.abort(new AnswerTimeoutError(s.config.ANSWER_TIMEOUT_MS)), s.config.ANSWER_TIMEOUT_MS);
  return {
    signal: controller.signal,
    cancel,
    isCancelled: () => controller.signal.reason instanceof AnswerCancelledError,
    // A Redis hiccup reading the flag must not fail the question for good: the ticker reads it again.
    isCancelRequested: () =>
      s.events.isCancelRequested(jobId).catch((err: unknown) => {
        logger.warn('cancel flag not readable; going on', { err: serializeError(err) });
        return false;
      }),
    stop() {
      clearTimeout(timer);
      stopListening();
    },
  };
}

async function storeCancelled({ d, question, jobId, logger }: AnswerAttempt): Promise<AnswerResult> {
  const stored = await storeErrorReply(d, {
    sessionId: question.sessionId,
    replyTo: question.id,
    jobId,
    code: CANCELLED_CODE,
    message: 'cancelled by the client',
  });
  logger.info('answer cancelled', { replyTo: question.id, stored: stored.isNew });
  return { status: isCancelledReply(stored.message) ? 'cancelled' : 'already_answered', messageId: stored.message.id, replyTo: question.id };
}

/** What generation produces: the text, its metadata and its sources as they read now. */
interface Reply {
  content: string;
  metadata: AnalysisResult;
  sources: AnswerSource[];
}

async function storeAnswer({ d, question, logger }: AnswerAttempt, reply: Reply): Promise<AnswerResult> {
  const { content, metadata, sources } = reply;
  const stored = await storeReply(d, { sessionId: question.sessionId, replyTo: question.id, content, metadata: { ...metadata }, sources });
  logger.info(stored.isNew ? 'answer stored' : 'answer already stored by another attempt', {
    replyTo: question.id,
    messageId: stored.message.id,
    ...reply.metadata.timings,
  });
  return { status: stored.isNew ? 'answered' : 'already_answered', messageId: stored.message.id, replyTo: question.id };
}

/** The error to throw: an AppError as it is (no retry can fix it: the job gives up, and its handler says so), else the abort's reason or the error, announced first. */
function failedAttempt({ s, question, jobId, attempt, logger }: AnswerAttempt, signal: AbortSignal, err: unknown): unknown {
  if (err instanceof AppError) return err;
  const reason = signal.aborted && signal.reason instanceof Error ? signal.reason : err;
  publishQuietly(s, logger, question.sessionId, {
    type: 'error',
    replyTo: question.id,
    jobId,
    attempt,
    code: 'answer_attempt_failed',
    message: messageOf(reason),
    willRetry: attempt < s.config.JOB_ATTEMPTS,
  });
  return reason;
}

interface GenerateInput {
  question: ChatMessage;
  job: AnswerJob;
  jobId: string;
  attempt: number;
  logger: Logger;
  reportProgress: JobContext['reportProgress'];
  signal: AbortSignal;
  isCancelRequested: () => Promise<boolean>;
  cancel: () => void;
}

/** Retrieval and generation, with progress events every ANSWER_PROGRESS_INTERVAL_MS while it runs and the text as deltas (answer-deltas.ts). */
async function generateReply(s: AnswerServices, input: GenerateInput): Promise<Reply> {
  const { question, job, jobId, attempt, logger, signal } = input;
  const started = performance.now();
  const ref = { replyTo: question.id, jobId, attempt };
  let stage: 'retrieving' | 'generating' = 'retrieving';
  const progress = () => {
    input.reportProgress({ done: stage === 'retrieving' ? 0 : 1, total: 2 }); // for GET /jobs
    publishQuietly(s, logger, question.sessionId, { type: 'progress', ...ref, stage, elapsedMs: Math.round(performance.now() - started) });
  };
  // The ticker also re-reads the cancel flag, in case the cancel's pub/sub message was lost.
  const deltas = answerDeltas((index, text) => publishQuietly(s, logger, question.sessionId, { type: 'delta', ...ref, index, text }));
  const ticker = setInterval(() => {
    progress();
    void input.isCancelRequested().then((isSet) => isSet && input.cancel());
  }, s.config.ANSWER_PROGRESS_INTERVAL_MS);
  try {
    progress();
    const { passages, retrievalQuery, isGrounded } = await retrieveForAnswer(s, question, job, signal);
    const retrieved = performance.now();
    stage = 'generating';
    progress();
    const answer = await s.answerer.answer({ question: question.content, passages, signal, onDelta: (text) => deltas.push(text) });
    deltas.flush();
    const generated = performance.now();
    const citations = checkCitations(answer.content, passages.length);
    if (citations.invalid.length > 0) logger.warn('answer cites sources it was not given', { replyTo: question.id, ...citations });
    return {
      content: answer.content,
      sources: await sourcesOf(s, passages),
      metadata: {
        type: 'analysis_result',
        sources: passages.map((p) => ({ documentId: p.documentId, chunkId: p.chunkId, score: p.score, title: p.title })),
        jobId,
        answerer: s.answerer.id,
        model: answer.model,
        grounded: isGrounded,
        retrievalQuery,
        citations,
        timings: { retrieveMs: tenths(retrieved - started), generateMs: tenths(generated - retrieved), totalMs: tenths(generated - started) },
      },
    };
  } finally {
    deltas.flush(); // a failed attempt's partial text goes out before its error event
    clearInterval(ticker);
  }
}

/** The passages as stored sources: where each came from and its text, bounded by MAX_SOURCE_QUOTE_CHARS. */
async function sourcesOf(s: Pick<Services, 'config' | 'db'>, passages: readonly Passage[]): Promise<AnswerSource[]> {
  const origins = await findChunkOrigins(
    s.db,
    passages.map((p) => p.chunkId),
  );
  return passages.map((p, i) => {
    const origin = origins.get(p.chunkId); // absent: the chunk was replaced since it was retrieved
    return {
      n: i + 1,
      documentId: p.documentId,
      revision: origin?.revision ?? null,
      chunkId: p.chunkId,
      ordinal: origin?.ordinal ?? null,
      span: origin?.span ?? null,
      score: p.score,
      vectorScore: p.vectorScore,
      title: p.title,
      quote: clipQuote(p.text, s.config.MAX_SOURCE_QUOTE_CHARS),
      quoteChars: p.text.length,
    };
  });
}

/** The first `max` code units, one fewer when the cut would split a surrogate pair (a lone half is not storable text). */
function clipQuote(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Deltas and progress may be lost (clients catch up from the stored message); they never fail the job. */
function publishQuietly(s: Pick<Services, 'events'>, logger: Logger, sessionId: string, event: ChatEvent): void {
  s.events.publish(sessionId, event).catch((err: unknown) => logger.debug('event not published', { type: event.type, err: serializeError(err) }));
}

/** What a client may read of a failed attempt (public-message.ts). */
function messageOf(err: unknown): string {
  return publicMessage(err instanceof Error ? err : new Error(String(err)));
}

function tenths(ms: number): number {
  return Math.round(ms * 10) / 10;
}
