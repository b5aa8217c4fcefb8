/** The route registry's entries for jobs and for chat. */
import { z } from 'zod';
import type { RequestSchemas } from './request-schemas.js';
import { createChatSchemas, MessageCursor, SessionId } from '../routes/chat.js';
import { IdempotencyKey } from './idempotency.js';
import { createJobSchemas, JobRef } from '../routes/jobs.js';
import { exampleAnswer, exampleAnswerSources, exampleCancelledAnswer, exampleQuestion, TIME } from './route-examples.js';
import * as R from './response-schemas.js';
import { errors, ok, type RegistryConfig, type RouteSpec } from './route-spec.js';

const idempotency = {
  'Idempotency-Key': {
    description: 'optional: a retry with the same key returns the first response (Idempotent-Replayed: true) without doing the work twice',
    schema: IdempotencyKey,
  },
};

type ChatSchemas = ReturnType<typeof createChatSchemas>;
type SessionParams = z.ZodObject<{ id: typeof SessionId }>;

const exampleIngestJob = {
  id: 'ingest:bees:1',
  queue: 'ingest',
  status: 'succeeded',
  attempts: 1,
  result: { documentId: 'bees', revision: 1, status: 'ready', chunks: 1, removedChunks: 0 },
} as const;

export function jobRoutes(config: RegistryConfig): RouteSpec[] {
  return [...jobReadRoutes(config), ...jobControlRoutes()];
}

function jobReadRoutes(config: RegistryConfig): RouteSpec[] {
  const { JobListQuery } = createJobSchemas(config);
  return [
    {
      method: 'get',
      path: '/jobs',
      operationId: 'listJobs',
      tag: 'jobs',
      access: 'read',
      summary: "The jobs of the key's collections that SQL records (every kind but search), most recently changed first",
      query: JobListQuery,
      responses: {
        200: ok('newest first', R.JobList, { jobs: [{ ...exampleIngestJob, collection: 'default', updatedAt: TIME }] }),
        ...errors(400, 401, 503),
      },
    },
    {
      method: 'get',
      path: '/jobs/:queue/:id',
      operationId: 'getJob',
      access: 'read',
      tag: 'jobs',
      summary: "A job's status, progress, attempts and result",
      params: JobRef,
      responses: {
        200: ok('the job', R.JobView, { ...exampleIngestJob, progress: 100 }),
        ...errors(400, 401, 404, 503),
      },
    },
  ];
}

function jobControlRoutes(): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/jobs/:queue/:id/retry',
      operationId: 'retryJob',
      access: 'write',
      tag: 'jobs',
      summary: 'Run a failed ingest or remove job again',
      params: JobRef,
      responses: {
        202: ok('enqueued again under the same id', R.JobRetried, { job: { queue: 'ingest', id: 'ingest:bees:1' }, status: 'waiting' }),
        ...errors(400, 401, 404, 409, 503),
      },
    },
    {
      method: 'post',
      path: '/jobs/answer/:id/cancel',
      operationId: 'cancelAnswer',
      access: 'read',
      tag: 'jobs',
      summary: "Cancel a question's answer job",
      params: z.strictObject({ id: JobRef.shape.id }),
      responses: {
        200: ok('cancelled; the stored cancelled message', R.AnswerCancelled, {
          job: { queue: 'answer', id: 'answer:41' },
          status: 'cancelled',
          message: exampleCancelledAnswer,
        }),
        202: ok('a worker is aborting it; the cancelled message follows on the stream', R.AnswerCancelled, {
          job: { queue: 'answer', id: 'answer:41' },
          status: 'cancelling',
        }),
        ...errors(400, 401, 404, 409, 503),
      },
    },
  ];
}

export function chatRoutes(config: RegistryConfig, schemas: RequestSchemas): RouteSpec[] {
  const chat = createChatSchemas(config, schemas.k);
  const sessionParams = z.strictObject({ id: SessionId });
  return [...sessionRoutes(chat, sessionParams), ...messageRoutes(chat, sessionParams)];
}

function sessionRoutes(chat: ChatSchemas, sessionParams: SessionParams): RouteSpec[] {
  const session = { id: 's1', title: 'Bees', createdAt: TIME };
  return [
    {
      method: 'get',
      path: '/chat/sessions',
      operationId: 'listSessions',
      access: 'read',
      tag: 'chat',
      summary: 'The chat sessions of the collection, newest first',
      query: chat.SessionsQuery,
      responses: { 200: ok('newest first', R.SessionList, { sessions: [session] }), ...errors(400, 401) },
    },
    {
      method: 'delete',
      path: '/chat/sessions/:id',
      operationId: 'deleteSession',
      access: 'write',
      tag: 'chat',
      summary: 'Delete a chat session with its messages',
      params: sessionParams,
      responses: { 200: ok('deleted', R.SessionDeleted, { id: 's1', messages: 2 }), ...errors(400, 401, 404) },
    },
    {
      method: 'post',
      path: '/chat/sessions',
      operationId: 'createSession',
      access: 'read',
      tag: 'chat',
      summary: 'Create a chat session',
      headers: idempotency,
      body: { schema: chat.SessionInput, example: { id: 's1', title: 'Bees' } },
      responses: { 201: ok('created', R.ChatSession, { id: 's1', title: 'Bees', createdAt: TIME }), ...errors(400, 401, 409) },
    },
    {
      method: 'get',
      path: '/chat/sessions/:id',
      operationId: 'getSession',
      access: 'read',
      tag: 'chat',
      summary: 'One chat session',
      params: sessionParams,
      responses: { 200: ok('the session', R.ChatSession, { id: 's1', title: 'Bees', createdAt: TIME }), ...errors(400, 401, 404) },
    },
  ];
}

function messageRoutes(chat: ChatSchemas, sessionParams: SessionParams): RouteSpec[] {
  const read = { access: 'read', tag: 'chat' } as const;
  return [
    {
      ...read,
      method: 'post',
      path: '/chat/sessions/:id/messages',
      operationId: 'ask',
      summary: 'Ask a question; the answer is a job',
      params: sessionParams,
      headers: idempotency,
      description: 'Stores the question and enqueues its answer job; 202 at once. The answer arrives on the event stream or by polling GET …/messages?after=.',
      body: { schema: chat.QuestionInput, example: { content: 'Where do bees keep nectar?', k: 5, where: { lang: 'en' } } },
      responses: {
        202: ok('question stored, answer enqueued', R.QuestionAccepted, { message: exampleQuestion, job: { queue: 'answer', id: 'answer:41' } }),
        ...errors(400, 401, 404, 409, 503),
      },
    },
    {
      ...read,
      method: 'get',
      path: '/chat/sessions/:id/messages',
      operationId: 'listMessages',
      summary: 'Messages after an id (polling)',
      params: sessionParams,
      query: chat.MessagesQuery,
      responses: { 200: ok('oldest first', R.MessagesPage, { messages: [exampleQuestion, exampleAnswer], hasMore: false }), ...errors(400, 401, 404) },
    },
    {
      ...read,
      method: 'get',
      path: '/chat/messages/:id/sources',
      operationId: 'answerSources',
      summary: "An answer's sources, with the text it quoted as it was then",
      params: z.strictObject({ id: MessageCursor }),
      description:
        "For each source n of the answer: the document, the revision and chunk it came from, the chunk's span in that revision's text, its scores and its text as it was when the answer was made (at most MAX_SOURCE_QUOTE_CHARS), readable after the document was replaced or removed; currentRevision says which. `citations` lists the answer's [n] that name a given source and those that name none. 404 for a question (ask for its answer's id), an unknown message, or one of another collection.",
      responses: { 200: ok('the sources, in the order the answer numbers them', R.AnswerSources, exampleAnswerSources), ...errors(400, 401, 404) },
    },
    {
      ...read,
      method: 'get',
      path: '/chat/sessions/:id/events',
      operationId: 'sessionEvents',
      summary: "The session's events (Server-Sent Events)",
      params: sessionParams,
      query: chat.EventsQuery,
      headers: {
        'Last-Event-ID': { description: 'resume after this message id (EventSource sends it when it reconnects); wins over ?after=', schema: MessageCursor },
      },
      description:
        'Events: `message` (a stored message as in GET …/messages; SSE id = message id), `delta` ({replyTo, jobId, attempt, index, text}: the answer text as it is made, what comes within one event-loop turn in one event; the deltas of an attempt join to its stored answer), `progress` ({replyTo, jobId, attempt, stage, elapsedMs}), `error` ({replyTo, jobId, attempt, code, message, willRetry}); a comment line at least every SSE_HEARTBEAT_MS. EventSource cannot send headers: pass the key as ?access_token=.',
      responses: {
        200: ok('an event stream', R.TextBody, 'retry: 2000\n\nid: 42\nevent: message\ndata: {"id":42,"role":"assistant",…}\n\n', 'text/event-stream'),
        ...errors(400, 401, 404, 429),
      },
    },
  ];
}
