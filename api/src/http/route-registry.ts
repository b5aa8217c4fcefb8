/**
 * The one list of the HTTP API's routes: method, path, summary, the zod schemas each route parses
 * its input with (the same instances the routers use: createRequestSchemas, createChatSchemas,
 * JobRef), the schema of every answer (response-schemas.ts) and an example of each. The OpenAPI
 * description (openapi.ts) and the /docs page are generated from it, and tests check it both ways:
 * every route Express has is listed here and every listed route exists, and every example passes
 * its schema.
 */
import { z } from 'zod';
import type { Config } from '../../../shared/src/config.js';
import { Id } from '../../../shared/src/input.js';
import type { RequestLimitsConfig, RequestSchemas } from './request-schemas.js';
import { createChatSchemas, SessionId } from '../routes/chat.js';
import { JobRef } from '../routes/jobs.js';
import * as R from './response-schemas.js';
import { UploadFields } from './upload.js';

export type HttpMethod = 'get' | 'post' | 'delete';

export interface ResponseSpec {
  description: string;
  schema: z.ZodType;
  contentType?: string; // default application/json
  example?: unknown;
}

export interface RouteSpec {
  method: HttpMethod;
  path: string; // Express syntax: /documents/:id
  operationId: string;
  tag: 'service' | 'reference' | 'documents' | 'search' | 'jobs' | 'chat';
  summary: string;
  description?: string;
  isPublic?: boolean; // no API key needed
  isMounted?: boolean; // a mounted sub-application (the queue dashboard), not a route of our routers
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: Record<string, string>; // request header name → description
  body?: { schema: z.ZodType; example: unknown };
  upload?: { fields: z.ZodObject; fileField: string; description: string }; // multipart/form-data alternative
  responses: Record<number, ResponseSpec>;
}

const TIME = '2026-11-22T10:00:00.000Z';
const HASH = 'a3f1c2d4e5b60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const exampleDocument = {
  id: 'bees', title: 'Bees', metadata: { lang: 'en' }, status: 'ready', error: null, chunkCount: 1, revision: 1,
  contentHash: HASH, indexedHash: HASH, requestId: 'b7e3c1d2-0f4a-4e55-9d8c-2a1b3c4d5e6f', createdAt: TIME, updatedAt: TIME,
};
const exampleQuestion = { id: 41, sessionId: 's1', role: 'user', content: 'Where do bees keep nectar?', metadata: { type: 'question', k: 5 }, replyTo: null, createdAt: TIME };
const exampleAnswer = {
  id: 42, sessionId: 's1', role: 'assistant', replyTo: 41, createdAt: TIME,
  content: 'From the most relevant passages:\n\n“Honey bees store nectar in the comb.” [1]\n\nSources:\n[1] Bees',
  metadata: { type: 'analysis_result', sources: [{ documentId: 'bees', chunkId: 7, score: 0.61, title: 'Bees' }], jobId: 'answer:41', answerer: 'extractive', model: null, timings: { retrieveMs: 4, generateMs: 1, totalMs: 6 } },
};
const ERROR_MEANINGS: Record<number, string> = {
  400: 'invalid input: details lists {path, rule, message} per problem',
  401: 'no API key, or not a valid one (WWW-Authenticate: Bearer)',
  404: 'not found',
  409: 'conflict with the current state',
  413: 'over a size limit',
  415: 'unsupported media type',
  429: 'rate limit or event-stream cap reached (Retry-After)',
  503: 'Redis, the database or a worker is unavailable (Retry-After)',
  504: 'no worker answered in time',
};

/** Error answers: the one JSON error shape. */
function errors(...statuses: number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(statuses.map((status) => [status, { description: ERROR_MEANINGS[status] ?? 'error', schema: R.ErrorBody }]));
}

const ok = (description: string, schema: z.ZodType, example: unknown, contentType?: string): ResponseSpec => ({ description, schema, example, ...(contentType ? { contentType } : {}) });

export type RegistryConfig = RequestLimitsConfig & Pick<Config, 'UPLOAD_MAX_BYTES' | 'UPLOAD_PDF_MAX_PAGES'>;

export function createRouteRegistry(config: RegistryConfig, schemas: RequestSchemas): RouteSpec[] {
  const chat = createChatSchemas(config, schemas.k);
  const documentParams = z.strictObject({ id: Id });
  const sessionParams = z.strictObject({ id: SessionId });
  const idempotency = { 'Idempotency-Key': 'optional, 1-255 visible ASCII characters: a retry with the same key returns the first response (Idempotent-Replayed: true) without doing the work twice' };
  const html = (description: string) => ok(description, R.TextBody, undefined, 'text/html');
  return [
    { method: 'get', path: '/health', operationId: 'health', tag: 'service', summary: 'Liveness', isPublic: true, responses: { 200: ok('alive', R.Health, { status: 'ok' }) } },
    { method: 'get', path: '/ready', operationId: 'ready', tag: 'service', summary: 'Readiness: Redis and the database answer',
      responses: { 200: ok('ready', R.Readiness, { status: 'ready', checks: { redis: 'ok', database: 'ok' } }), 503: ok('not ready; checks name what failed', R.Readiness, { status: 'unavailable', checks: { redis: 'redis did not answer', database: 'ok' } }), ...errors(401) } },
    { method: 'get', path: '/status', operationId: 'status', tag: 'service', summary: 'Workers, queue counts, documents by status, latest seq',
      responses: { 200: ok('the deployment at a glance', R.ServiceStatus, {
        workers: [{ id: 'worker-1', pid: 4242, host: 'dyno.1', startedAt: TIME, lastSeen: TIME, indexSize: 1, appliedSeq: 1, checkpointSeq: 0, embedder: 'builtin-hash-v1:384', status: 'ready' }],
        queues: [{ name: 'ingest', waiting: 0, active: 0, succeeded: 1, failed: 0, delayed: 0, newestJob: 1 }], documents: { pending: 0, indexing: 0, ready: 1, failed: 0 }, latestSeq: 1,
      }), ...errors(401, 503) } },
    { method: 'get', path: '/metrics', operationId: 'metrics', tag: 'service', summary: 'Prometheus metrics', responses: { 200: ok('Prometheus text format', R.TextBody, '# HELP colmeia_http_request_duration_seconds …\n', 'text/plain'), ...errors(401) } },
    { method: 'get', path: '/admin/queues', operationId: 'queueDashboard', tag: 'service', summary: 'Queue dashboard (Arena)', isMounted: true, responses: { 200: html('the dashboard (at /admin/queues/)'), 301: html('to /admin/queues/'), ...errors(401) } },
    { method: 'get', path: '/', operationId: 'chatPage', tag: 'reference', summary: 'The chat page (asks for the API key; holds no data)', isPublic: true, responses: { 200: html('the page') } },
    { method: 'get', path: '/docs', operationId: 'apiReference', tag: 'reference', summary: 'This API reference as a page', isPublic: true, responses: { 200: html('the reference') } },
    { method: 'get', path: '/openapi.json', operationId: 'openapi', tag: 'reference', summary: 'This API description (OpenAPI 3.1)', isPublic: true, responses: { 200: ok('the description', z.record(z.string(), z.unknown()), undefined) } },

    { method: 'post', path: '/documents', operationId: 'addDocument', tag: 'documents', summary: 'Add or replace a document (JSON text or an uploaded file)',
      description: `Stores the document (pending) and enqueues its ingest; 202 at once. An existing id is replaced (a new revision). Instead of JSON, send multipart/form-data with one file (.txt, .md, .html, .pdf; at most ${config.UPLOAD_MAX_BYTES} bytes, PDFs at most ${config.UPLOAD_PDF_MAX_PAGES} pages): its text is extracted and validated like \`text\`; metadata.source records {fileName, contentType, bytes, pages?} and the title defaults to the file name.`,
      body: { schema: schemas.DocumentInput, example: { id: 'bees', title: 'Bees', text: 'Honey bees store nectar in the comb.', metadata: { lang: 'en' } } },
      upload: { fields: UploadFields, fileField: 'file', description: 'file: the document; id, title: as in JSON; metadata: a JSON object as a string' },
      responses: { 202: ok('stored; ingest enqueued', R.DocumentAccepted, { document: { id: 'bees', status: 'pending', revision: 1 }, job: { queue: 'ingest', id: 'ingest:bees:1' } }), ...errors(400, 401, 413, 415, 429, 503) } },
    { method: 'get', path: '/documents', operationId: 'listDocuments', tag: 'documents', summary: 'List documents in id order', query: schemas.DocumentListQuery,
      description: '`where` is a metadata filter as JSON (see POST /search); `cursor` is the previous page\'s nextCursor.',
      responses: { 200: ok('one page', R.DocumentPage, { documents: [exampleDocument], nextCursor: null }), ...errors(400, 401) } },
    { method: 'get', path: '/documents/:id', operationId: 'getDocument', tag: 'documents', summary: 'One document and its status', params: documentParams,
      responses: { 200: ok('the document (not its text)', R.DocumentView, exampleDocument), ...errors(400, 401, 404) } },
    { method: 'delete', path: '/documents/:id', operationId: 'removeDocument', tag: 'documents', summary: 'Remove a document (a job)', params: documentParams,
      responses: { 202: ok('removal enqueued; GET /jobs/remove/{id} for its counts', R.JobAccepted, { job: { queue: 'remove', id: 'remove:5d0c3b7e-9a41-4f7e-8b1a-6c2d9e0f1a2b' } }), ...errors(400, 401, 404, 503) } },
    { method: 'post', path: '/documents/delete', operationId: 'removeDocuments', tag: 'documents', summary: 'Remove every document matching a metadata filter (a job; dryRun only counts)',
      body: { schema: schemas.RemoveRequest, example: { where: { lang: 'en' }, dryRun: true } },
      responses: { 202: ok('removal enqueued; its result counts documents and chunks', R.JobAccepted, { job: { queue: 'remove', id: 'remove:5d0c3b7e-9a41-4f7e-8b1a-6c2d9e0f1a2b' } }), ...errors(400, 401, 503) } },

    { method: 'post', path: '/search', operationId: 'search', tag: 'search', summary: 'Search by meaning, optionally filtered by metadata',
      description: 'where: {field: value}, {field: {$eq|$ne|$gt|$gte|$lt|$lte: v}}, {field: {$in|$nin: [..]}}, {$and: [..]}, {$or: [..]}; field names ^[A-Za-z0-9_.-]{1,64}$, a dot means nesting.',
      body: { schema: schemas.SearchRequest, example: { query: 'where is nectar kept', k: 3, where: { lang: 'en' } } },
      responses: { 200: ok('best first', R.SearchResponse, { results: [{ documentId: 'bees', chunkId: 7, text: 'Honey bees store nectar in the comb.', score: 0.61, title: 'Bees', metadata: { lang: 'en' } }], seq: 12 }), ...errors(400, 401, 503, 504) } },

    { method: 'get', path: '/jobs/:queue/:id', operationId: 'getJob', tag: 'jobs', summary: 'A job\'s status, progress, attempts and result', params: JobRef,
      responses: { 200: ok('the job', R.JobView, { id: 'ingest:bees:1', queue: 'ingest', status: 'succeeded', progress: 100, attempts: 1, result: { documentId: 'bees', revision: 1, status: 'ready', chunks: 1, removedChunks: 0 } }), ...errors(400, 401, 404, 503) } },
    { method: 'post', path: '/jobs/:queue/:id/retry', operationId: 'retryJob', tag: 'jobs', summary: 'Run a failed ingest or remove job again', params: JobRef,
      responses: { 202: ok('enqueued again under the same id', R.JobRetried, { job: { queue: 'ingest', id: 'ingest:bees:1' }, status: 'waiting' }), ...errors(400, 401, 404, 409, 503) } },
    { method: 'post', path: '/jobs/answer/:id/cancel', operationId: 'cancelAnswer', tag: 'jobs', summary: 'Cancel a question\'s answer job', params: z.strictObject({ id: JobRef.shape.id }),
      responses: { 200: ok('cancelled; the stored cancelled message', R.AnswerCancelled, { job: { queue: 'answer', id: 'answer:41' }, status: 'cancelled', message: { ...exampleAnswer, content: '', metadata: { type: 'analysis_error', error: { code: 'cancelled', message: 'cancelled by the client' }, jobId: 'answer:41' } } }),
        202: ok('a worker is aborting it; the cancelled message follows on the stream', R.AnswerCancelled, { job: { queue: 'answer', id: 'answer:41' }, status: 'cancelling' }), ...errors(400, 401, 404, 409, 503) } },

    { method: 'post', path: '/chat/sessions', operationId: 'createSession', tag: 'chat', summary: 'Create a chat session', headers: idempotency, body: { schema: chat.SessionInput, example: { id: 's1', title: 'Bees' } },
      responses: { 201: ok('created', R.ChatSession, { id: 's1', title: 'Bees', createdAt: TIME }), ...errors(400, 401, 409) } },
    { method: 'get', path: '/chat/sessions/:id', operationId: 'getSession', tag: 'chat', summary: 'One chat session', params: sessionParams,
      responses: { 200: ok('the session', R.ChatSession, { id: 's1', title: 'Bees', createdAt: TIME }), ...errors(400, 401, 404) } },
    { method: 'post', path: '/chat/sessions/:id/messages', operationId: 'ask', tag: 'chat', summary: 'Ask a question; the answer is a job', params: sessionParams, headers: idempotency,
      description: 'Stores the question and enqueues its answer job; 202 at once. The answer arrives on the event stream or by polling GET …/messages?after=.',
      body: { schema: chat.QuestionInput, example: { content: 'Where do bees keep nectar?', k: 5, where: { lang: 'en' } } },
      responses: { 202: ok('question stored, answer enqueued', R.QuestionAccepted, { message: exampleQuestion, job: { queue: 'answer', id: 'answer:41' } }), ...errors(400, 401, 404, 409, 503) } },
    { method: 'get', path: '/chat/sessions/:id/messages', operationId: 'listMessages', tag: 'chat', summary: 'Messages after an id (polling)', params: sessionParams, query: chat.MessagesQuery,
      responses: { 200: ok('oldest first', R.MessagesPage, { messages: [exampleQuestion, exampleAnswer], hasMore: false }), ...errors(400, 401, 404) } },
    { method: 'get', path: '/chat/sessions/:id/events', operationId: 'sessionEvents', tag: 'chat', summary: 'The session\'s events (Server-Sent Events)', params: sessionParams, query: chat.EventsQuery,
      headers: { 'Last-Event-ID': 'resume after this message id (EventSource sends it when it reconnects); wins over ?after=' },
      description: 'Events: `message` (a stored message as in GET …/messages; SSE id = message id), `delta` ({replyTo, jobId, attempt, index, text}: answer tokens), `progress` ({replyTo, jobId, attempt, stage, elapsedMs}), `error` ({replyTo, jobId, attempt, code, message, willRetry}); a comment line at least every SSE_HEARTBEAT_MS. EventSource cannot send headers: pass the key as ?access_token=.',
      responses: { 200: ok('an event stream', R.TextBody, 'retry: 2000\n\nid: 42\nevent: message\ndata: {"id":42,"role":"assistant",…}\n\n', 'text/event-stream'), ...errors(400, 401, 404, 429) } },
  ];
}

/** "/documents/:id" → "/documents/{id}". */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
