/**
 * Chat: sessions of a collection (the default one without a prefix, http/collection-scope.ts), questions and their answers.
 * Answers are retrieved from the session's collection. A question is stored, then its answer
 * job is enqueued (job id from the message id), and the route answers 202 at once; the worker's
 * answer arrives by SSE push (stream-session.ts) or by polling `?after=`. An Idempotency-Key makes a
 * client's retry return the first response without a second message or job.
 */
import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  createChatSession,
  deleteChatSession,
  findChatMessageIn,
  findChatSession,
  findReply,
  insertUserMessage,
  listChatSessions,
  listMessagesAfter,
  type StoredMessage,
} from '../../../shared/src/db/chat-repo.js';
import { COLLECTION_PREFIXES, collectionOf } from '../http/collection-scope.js';
import { listAnswerSources } from '../../../shared/src/db/answer-sources-repo.js';
import { findDocumentRevisions } from '../../../shared/src/db/documents-repo.js';
import { enqueue } from '../../../shared/src/queue/enqueue.js';
import { recordPendingJob } from '../../../shared/src/db/jobs-repo.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../shared/src/errors.js';
import { Id, nonBlankText, text } from '../../../shared/src/input.js';
import { answerJobId, MAX_MESSAGE_ID } from '../../../shared/src/jobs/answer.js';
import { DEFAULT_K, whereSchema, type RequestLimitsConfig, type RequestSchemas } from '../http/request-schemas.js';
import { announceMessage } from '../../../shared/src/store-reply.js';
import { parse } from '../../../shared/src/validation.js';
import { idempotentRequestOf, runIdempotent } from '../http/idempotency.js';
import { localsOf } from '../http/request-context.js';
import { streamCap } from '../http/stream-cap.js';
import { streamSession } from '../http/stream-session.js';
import type { ApiServices } from '../services.js';

export const SessionId = Id.max(64, 'must be at most 64 characters');
export const MessageCursor = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,9})$/, 'must be a message id (a non-negative integer)')
  .transform(Number)
  .pipe(z.number().max(MAX_MESSAGE_ID))
  .meta({ type: 'integer', minimum: 0, maximum: MAX_MESSAGE_ID });

/** The chat routes' request schemas; the route registry (http/route-registry.ts) describes these same ones. */
export function createChatSchemas(config: RequestLimitsConfig, k: RequestSchemas['k']) {
  const SessionInput = z.strictObject({ id: SessionId.optional(), title: text(config.MAX_TITLE_CHARS).nullable().optional() });
  const QuestionInput = z.strictObject({
    content: nonBlankText(config.MAX_QUERY_CHARS),
    k: k.default(DEFAULT_K),
    where: whereSchema(config).optional(),
  });
  const MessagesQuery = z.strictObject({
    after: MessageCursor.default(0),
    limit: z
      .string()
      .regex(/^[1-9][0-9]{0,5}$/, 'must be a positive integer')
      .transform(Number)
      .pipe(z.number().max(config.MAX_PAGE_SIZE))
      .meta({ type: 'integer', minimum: 1, maximum: config.MAX_PAGE_SIZE })
      .optional(),
  });
  const EventsQuery = z.strictObject({ after: MessageCursor.optional(), access_token: z.string().optional() });
  const SessionsQuery = z.strictObject({ limit: MessagesQuery.shape.limit });
  return { SessionInput, QuestionInput, MessagesQuery, EventsQuery, SessionsQuery };
}

export function chatRouter(s: ApiServices): Router {
  const router = Router();
  const schemas = createChatSchemas(s.config, s.schemas.k);
  for (const prefix of COLLECTION_PREFIXES) {
    sessionRoutes(s, router, prefix, schemas);
    messageRoutes(s, router, prefix, schemas);
  }
  return router;
}

type ChatSchemas = ReturnType<typeof createChatSchemas>;

function sessionRoutes(s: ApiServices, router: Router, prefix: string, { SessionInput, SessionsQuery }: ChatSchemas): void {
  router.post(`${prefix}/chat/sessions`, async (req, res) => {
    const collection = await collectionOf(s, req);
    const input = parse(SessionInput, req.body ?? {}, 'chat session');
    const outcome = await runIdempotent(s.db, idempotentRequestOf(req, res, input), s.config.IDEMPOTENCY_TTL_MS, async (db) => {
      const session = await createChatSession(db, { id: input.id ?? randomUUID(), title: input.title ?? null, collection });
      if (!session) throw new ConflictError(`chat session ${input.id ?? ''} already exists`);
      return { statusCode: 201, body: session };
    });
    if (outcome.isReplay) res.setHeader('Idempotent-Replayed', 'true');
    res.status(outcome.statusCode).json(outcome.body);
  });

  router.get(`${prefix}/chat/sessions`, async (req, res) => {
    const collection = await collectionOf(s, req);
    const query = parse(SessionsQuery, { ...req.query }, 'query');
    res.json({ sessions: await listChatSessions(s.db, collection, query.limit ?? s.config.MAX_PAGE_SIZE) });
  });

  router.get(`${prefix}/chat/sessions/:id`, async (req, res) => {
    const { collection: _collection, ...session } = await sessionOf(s, req);
    res.json(session);
  });

  router.delete(`${prefix}/chat/sessions/:id`, async (req, res) => {
    const session = await sessionOf(s, req);
    const messages = await deleteChatSession(s.db, session.id, session.collection);
    if (messages === undefined) throw new NotFoundError(`chat session ${session.id} not found`);
    res.json({ id: session.id, messages });
  });
}

function messageRoutes(s: ApiServices, router: Router, prefix: string, { QuestionInput, MessagesQuery, EventsQuery }: ChatSchemas): void {
  router.post(`${prefix}/chat/sessions/:id/messages`, async (req, res) => ask(s, QuestionInput, req, res));

  router.get(`${prefix}/chat/sessions/:id/messages`, async (req, res) => {
    const session = await sessionOf(s, req);
    const query = parse(MessagesQuery, { ...req.query }, 'query');
    const limit = query.limit ?? s.config.MAX_PAGE_SIZE;
    const messages = await listMessagesAfter(s.db, session.id, query.after, limit + 1);
    res.json({ messages: messages.slice(0, limit), hasMore: messages.length > limit });
  });

  router.get(`${prefix}/chat/sessions/:id/events`, streamCap({ config: s.config, redis: s.redis }), async (req, res) => {
    const session = await sessionOf(s, req);
    const query = parse(EventsQuery, { ...req.query }, 'query');
    const lastEventId = req.get('last-event-id');
    const after = lastEventId === undefined || lastEventId === '' ? (query.after ?? 0) : parse(MessageCursor, lastEventId.trim(), 'Last-Event-ID');
    const stream = s.sse.open(req, res, { heartbeatMs: s.config.SSE_HEARTBEAT_MS, retryMs: s.config.SSE_RETRY_MS });
    streamSession({ db: s.db, events: s.events, logger: localsOf(res).logger }, stream, session.id, after);
  });

  router.get(`${prefix}/chat/messages/:id/sources`, async (req, res) => {
    const collection = await collectionOf(s, req);
    const id = parse(MessageCursor, req.params['id'], 'message id');
    res.json(await answerSourcesOf(s, id, collection));
  });
}

const Citations = z.object({ valid: z.array(z.number().int()), invalid: z.array(z.number().int()) });

/** GET …/chat/messages/:id/sources: the stored sources of an answer, each with its document's revision now. */
async function answerSourcesOf(s: ApiServices, id: number, collection: string) {
  const message = await findChatMessageIn(s.db, id, collection);
  if (!message) throw new NotFoundError(`message ${id} not found`);
  if (message.role !== 'assistant') throw new NotFoundError(`message ${id} is a question, not an answer: ask for the sources of its answer`);
  const sources = await listAnswerSources(s.db, id);
  const current = await findDocumentRevisions(
    s.db,
    sources.map((source) => source.documentId),
    collection,
  );
  const citations = Citations.safeParse(message.metadata['citations']);
  return {
    messageId: message.id,
    sessionId: message.sessionId,
    replyTo: message.replyTo,
    createdAt: message.createdAt,
    citations: citations.success ? { valid: citations.data.valid, invalid: citations.data.invalid } : null,
    sources: sources.map((source) => ({ ...source, currentRevision: current.get(source.documentId) ?? null })),
  };
}

type QuestionSchema = ChatSchemas['QuestionInput'];

/** The session named by the path, in the collection named by the path; one of another collection is not found. */
async function sessionOf(s: ApiServices, req: Request) {
  const collection = await collectionOf(s, req);
  const id = parse(SessionId, req.params['id'], 'session id');
  const session = await findChatSession(s.db, id, collection);
  if (!session) throw new NotFoundError(`chat session ${id} not found`);
  return { ...session, collection };
}

/** POST /chat/sessions/:id/messages: stores the question, announces it and enqueues its answer. */
async function ask(s: ApiServices, QuestionInput: QuestionSchema, req: Request, res: Response): Promise<void> {
  const session = await sessionOf(s, req);
  const input = parse(QuestionInput, req.body, 'message');
  const rawWhere = input.where === undefined ? undefined : (req.body as { where: unknown }).where;
  const { requestId } = localsOf(res);
  const answerJobOf = (messageId: number) => ({
    collection: session.collection,
    sessionId: session.id,
    messageId,
    k: input.k,
    ...(input.where !== undefined ? { where: input.where } : {}),
    requestId,
  });
  let stored: StoredMessage | undefined;
  const outcome = await runIdempotent(s.db, idempotentRequestOf(req, res, input), s.config.IDEMPOTENCY_TTL_MS, async (db) => {
    const metadata = { type: 'question', k: input.k, ...(rawWhere !== undefined ? { where: rawWhere } : {}) };
    stored = await insertUserMessage(db, { sessionId: session.id, content: input.content, metadata });
    await recordPendingJob(db, { queue: 'answer', jobId: answerJobId(stored.message.id), data: answerJobOf(stored.message.id) });
    return { statusCode: 202, body: { message: stored.message, job: { queue: 'answer', id: answerJobId(stored.message.id) } } };
  });
  // Committed, with the answer job's pending record (the sweep enqueues it again if Redis loses
  // it): now announce it and enqueue. A replay re-enqueues only an unanswered question (a no-op
  // while its job exists).
  const messageId = stored?.message.id ?? replayedMessageId(outcome.body);
  if (stored) await announceMessage({ db: s.db, events: s.events, logger: localsOf(res).logger }, stored);
  if (stored || !(await findReply(s.db, messageId))) {
    await enqueue(s.queues.answer, s.config, answerJobId(messageId), answerJobOf(messageId));
  }
  if (outcome.isReplay) res.setHeader('Idempotent-Replayed', 'true');
  res.status(outcome.statusCode).json(outcome.body);
}

const ReplayedQuestion = z.object({ message: z.object({ id: z.number().int().positive() }) });

function replayedMessageId(body: unknown): number {
  const parsed = ReplayedQuestion.safeParse(body);
  if (!parsed.success) throw new ValidationError('the stored response of this Idempotency-Key is not a question');
  return parsed.data.message.id;
}
