/**
 * The API answers what its description says (route-registry.ts → /openapi.json): against the built
 * web and worker processes, every route is called on its main path (and a few error paths), and
 * each answer's status must be one the route describes and its body must pass the described
 * schema, uploads included. In the end every route must have shown its success answer.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createOpenApiDocument } from '../../api/src/http/openapi.js';
import { createRouteRegistry, type RouteSpec } from '../../api/src/http/route-registry.js';
import { loadConfig } from '../../shared/src/config.js';
import { createRequestSchemas } from '../../api/src/http/request-schemas.js';
import { parse } from '../../shared/src/validation.js';
import { pdfWithText } from '../support/pdf-files.js';
import type { Env, ServiceProcess, WebProcess } from '../support/service-processes.js';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient, type Reply } from './jobs-harness.js';

const KEY = `openapi-e2e-${randomUUID()}`;

describe('answers match the OpenAPI description', () => {
  let stack: ServiceStack | undefined;
  let web: WebProcess;
  let worker: ServiceProcess;
  let env: Env;
  let client: ApiClient;
  let routes: RouteSpec[];
  const seen = new Set<string>(); // "operationId status"

  /** Asserts the reply is a described answer of the operation and its body passes the described schema. */
  const check = (operationId: string, reply: Reply, expectedStatus: number): Reply => {
    const route = routes.find((r) => r.operationId === operationId);
    assert.ok(route, `no route ${operationId} in the registry`);
    assert.equal(reply.status, expectedStatus, `${operationId}: ${reply.text.slice(0, 500)}`);
    const spec = route.responses[reply.status];
    assert.ok(spec, `${operationId} answered ${reply.status}, which its description does not list`);
    const contentType = spec.contentType ?? 'application/json';
    assert.ok(
      (reply.headers.get('content-type') ?? '').startsWith(contentType),
      `${operationId} ${reply.status}: content-type ${reply.headers.get('content-type')}, described ${contentType}`,
    );
    if (contentType === 'application/json') parse(spec.schema, reply.body, `${operationId} ${reply.status} answer`);
    seen.add(`${operationId} ${reply.status}`);
    return reply;
  };
  const bodyOf = <T>(reply: Reply) => reply.body as T;
  const waitForDocument = (id: string, status: string) =>
    waitFor(async () => bodyOf<{ status?: string }>(await client.get(`/documents/${id}`)).status === status, {
      timeoutMs: 15_000,
      what: `document ${id} to be ${status}`,
    });

  before(async () => {
    stack = await startServiceStack({
      env: {
        API_KEYS: KEY,
        RATE_LIMIT_MAX: '100000',
        UPLOAD_MAX_BYTES: '65536',
        CHUNK_SIZE: '200',
        CHUNK_OVERLAP: '20',
        MAX_CHUNKS_PER_DOCUMENT: '3',
        JOB_ATTEMPTS: '1',
        HEARTBEAT_INTERVAL_MS: '500',
      },
      dataDirPrefix: 'colmeia-openapi-e2e-',
    });
    ({ web, worker } = stack);
    env = stack.envFor();
    client = new ApiClient(() => web.url, KEY);
    const config = loadConfig({ ...env, NODE_ENV: 'test' });
    routes = createRouteRegistry(config, createRequestSchemas(config));
  });

  after(async () => {
    await stack?.close();
  });

  it('service and reference routes', async () => {
    check('health', await client.get('/health'), 200);
    check('ready', await client.get('/ready'), 200);
    await waitFor(async () => bodyOf<{ workers: unknown[] }>(await client.get('/status')).workers.length > 0, {
      timeoutMs: 10_000,
      what: 'a worker heartbeat',
    });
    check('status', await client.get('/status'), 200);
    check('metrics', await client.get('/metrics'), 200);
    check('queueDashboard', await client.get('/admin/queues/'), 200);
    const anonymous = new ApiClient(() => web.url, 'not-a-key');
    check('chatPage', await anonymous.get('/'), 200);
    check('apiReference', await anonymous.get('/docs'), 200);
    const described = check('openapi', await anonymous.get('/openapi.json'), 200);
    assert.deepEqual(described.body, JSON.parse(JSON.stringify(createOpenApiDocument(routes))));
    check('listDocuments', await anonymous.get('/documents'), 401);
  });

  it('documents, uploads, search and jobs', async () => {
    const added = check(
      'addDocument',
      await client.post('/documents', { id: 'bees', title: 'Bees', text: 'Honey bees store nectar in the comb.', metadata: { lang: 'en' } }),
      202,
    );
    const pdf = new FormData();
    pdf.append('metadata', '{"lang":"en"}');
    pdf.append('file', new Blob([pdfWithText(['Drones have no sting.'])], { type: 'application/pdf' }), 'drones.pdf');
    check('addDocument', await client.post('/documents', pdf), 202);
    const docx = new FormData();
    docx.append('file', new Blob(['PK']), 'report.docx');
    check('addDocument', await client.post('/documents', docx), 415);
    const big = new FormData();
    big.append('file', new Blob(['x'.repeat(65_537)]), 'big.txt');
    check('addDocument', await client.post('/documents', big), 413);
    const locked = new FormData();
    locked.append('file', new Blob([pdfWithText(['x'], { isEncrypted: true })]), 'locked.pdf');
    assert.match(check('addDocument', await client.post('/documents', locked), 400).text, /encrypted/);
    check('addDocument', await client.post('/documents', { id: 'too-long', text: 'lorem ipsum dolor '.repeat(120) }), 202);

    await waitForDocument('bees', 'ready');
    check('getDocument', await client.get('/documents/bees'), 200);
    check('getDocument', await client.get('/documents/nope'), 404);
    check('listDocuments', await client.get(`/documents?limit=10&where=${encodeURIComponent('{"lang":"en"}')}`), 200);
    check('search', await client.post('/search', { query: 'where is nectar kept', k: 3, where: { lang: 'en' } }), 200);
    check('search', await client.post('/search', { query: 'x', where: { lang: { $near: 1 } } }), 400);

    const ingestJob = bodyOf<{ job: { id: string } }>(added).job.id;
    check('getJob', await client.get(`/jobs/ingest/${ingestJob}`), 200);
    check('getJob', await client.get('/jobs/ingest/ingest:nope:1'), 404);
    const jobs = bodyOf<{ jobs: Array<{ id: string }> }>(check('listJobs', await client.get('/jobs?queue=ingest&limit=50'), 200));
    assert.ok(
      jobs.jobs.some((job) => job.id === ingestJob),
      JSON.stringify(jobs),
    );
    check('listJobs', await client.get('/jobs?status=waiting'), 400);
    check('retryJob', await client.post(`/jobs/ingest/${ingestJob}/retry`), 409);
    await waitForDocument('too-long', 'failed');
    check('retryJob', await client.post('/jobs/ingest/ingest:too-long:1/retry'), 202);

    check('removeDocuments', await client.post('/documents/delete', { where: { lang: 'en' }, dryRun: true }), 202);
    check('removeDocument', await client.request('DELETE', '/documents/bees'), 202);
    check('removeDocument', await client.request('DELETE', '/documents/nope'), 404);
  });

  it('batch writes, waiting until searchable, chunks, count and metadata updates', async () => {
    const batch = { documents: [{ id: 'queen', text: 'The queen lays the eggs.', metadata: { caste: 'queen' } }, { text: 'Workers forage.' }] };
    check('addDocuments', await client.post('/documents/batch', { documents: [{ text: 'fine' }, { text: ' ' }] }), 400);
    check('addDocuments', await client.post('/documents/batch', batch), 202);
    const waited = bodyOf<{ documents: Array<{ seq: number }> }>(check('addDocuments', await client.post('/documents/batch?wait=true', batch), 200));
    check('addDocument', await client.post('/documents?wait=true', { id: 'drone', text: 'Drones mate with the queen.' }), 200);
    check('search', await client.post('/search', { query: 'queen', minSeq: waited.documents[0]?.seq ?? 0 }), 200);
    check('search', await client.post('/search', { query: 'queen', minSeq: 1_000_000_000 }), 409);
    const chunks = bodyOf<{ chunks: Array<{ id: number }> }>(check('listDocumentChunks', await client.get('/documents/queen/chunks'), 200));
    check('listDocumentChunks', await client.get(`/documents/queen/chunks?around=${chunks.chunks[0]?.id ?? 1}&n=1`), 200);
    check('listDocumentChunks', await client.get('/documents/nope/chunks'), 404);
    check('listDocumentChunks', await client.get('/documents/queen/chunks?limit=0'), 400);
    check('countDocuments', await client.post('/documents/count', { where: { caste: { $exists: true } } }), 200);
    check('countDocuments', await client.post('/documents/count', { where: { caste: { $contains: [1] } } }), 400);
    check('updateDocumentMetadata', await client.request('PATCH', '/documents/queen', { metadata: { caste: 'queen', old: true } }), 200);
    check('updateDocumentMetadata', await client.request('PATCH', '/documents/nope', { metadata: {} }), 404);
    check('removeDocument', await client.request('DELETE', '/documents/drone?wait=true'), 200);
    check('removeDocuments', await client.post('/documents/delete?wait=true', { where: { caste: 'queen' } }), 200);
  });

  it('collection routes, and every documents, search and chat route inside a collection', async () => {
    check('createCollection', await client.post('/collections', { id: 'handbook', title: 'Handbook', metadata: { team: 'apiary' } }), 201);
    check('createCollection', await client.post('/collections', { id: 'handbook' }), 409);
    check('createCollection', await client.post('/collections', { id: 'Not An Id' }), 400);
    check('listCollections', await client.get('/collections'), 200);
    check('getCollection', await client.get('/collections/nope'), 404);
    const c = '/collections/handbook';
    check('addDocumentInCollection', await client.post(`${c}/documents`, { id: 'wax', text: 'Wax glands make the comb.', metadata: { lang: 'en' } }), 202);
    check('addDocumentInCollection', await client.post('/collections/nope/documents', { text: 'x' }), 404);
    await waitFor(async () => bodyOf<{ status?: string }>(await client.get(`${c}/documents/wax`)).status === 'ready', { timeoutMs: 15_000, what: 'wax ready' });
    check('getDocumentInCollection', await client.get(`${c}/documents/wax`), 200);
    check('listDocumentsInCollection', await client.get(`${c}/documents`), 200);
    check('listDocumentHashesInCollection', await client.get(`${c}/document-hashes?prefix=w`), 200);
    check('searchInCollection', await client.post(`${c}/search`, { query: 'comb wax' }), 200);
    check('searchInCollection', await client.post('/collections/nope/search', { query: 'comb wax' }), 404);
    await waitFor(async () => bodyOf<{ workers: unknown[] }>(await client.get(c)).workers.length > 0, {
      timeoutMs: 10_000,
      what: 'a heartbeat with the collection',
    });
    check('getCollection', await client.get(c), 200);
    // Sent in pairs, so one arrives while the other's build is under way. A small collection's build
    // takes milliseconds: both of a pair may start (two generations in turn), and the next pair may
    // then both be refused while the last of those builds. Each answer is 202 or 409, and pairs are
    // sent until both answers have been seen.
    const seen = new Set<number>();
    for (let round = 1; round <= 10 && seen.size < 2; round++) {
      const pair = await Promise.all([client.post(`${c}/reindex`, { embedder: 'builtin:128' }), client.post(`${c}/reindex`, { embedder: 'builtin:128' })]);
      for (const reply of pair) {
        check('reindexCollection', reply, reply.status === 409 ? 409 : 202);
        seen.add(reply.status);
      }
    }
    assert.deepEqual([...seen].sort(), [202, 409], 'a reindex started, and one sent during a build was refused');
    check('reindexCollection', await client.post(`${c}/reindex`, { embedder: 'word2vec' }), 400);
    check('reindexCollection', await client.post('/collections/nope/reindex', { embedder: 'builtin' }), 404);
    const session = bodyOf<{ id: string }>(check('createSessionInCollection', await client.post(`${c}/chat/sessions`, { title: 'wax' }), 201)).id;
    check('getSessionInCollection', await client.get(`${c}/chat/sessions/${session}`), 200);
    check('getSession', await client.get(`/chat/sessions/${session}`), 404);
    check('listSessionsInCollection', await client.get(`${c}/chat/sessions`), 200);
    check('listSessions', await client.get('/chat/sessions?limit=5'), 200);
    const asked = bodyOf<{ message: { id: number } }>(
      check('askInCollection', await client.post(`${c}/chat/sessions/${session}/messages`, { content: 'What makes the comb?' }), 202),
    );
    await waitFor(
      async () => bodyOf<{ messages: unknown[] }>(await client.get(`${c}/chat/sessions/${session}/messages?after=${asked.message.id}`)).messages.length > 0,
      { timeoutMs: 15_000, what: 'the answer in the collection' },
    );
    const inCollection = bodyOf<{ messages: Array<{ id: number }> }>(await client.get(`${c}/chat/sessions/${session}/messages?after=${asked.message.id}`));
    check('answerSourcesInCollection', await client.get(`${c}/chat/messages/${inCollection.messages[0]?.id ?? 0}/sources`), 200);
    check('listMessagesInCollection', await client.get(`${c}/chat/sessions/${session}/messages`), 200);
    const stream = await fetch(`${web.url}${c}/chat/sessions/${session}/events?access_token=${encodeURIComponent(KEY)}`, {
      signal: AbortSignal.timeout(10_000),
    });
    const reader = stream.body?.getReader();
    const first = await reader?.read();
    await reader?.cancel();
    const text = new TextDecoder().decode(first?.value as Uint8Array | undefined);
    check('sessionEventsInCollection', { status: stream.status, headers: stream.headers, body: null, text, ms: 0 }, 200);
    check('deleteSessionInCollection', await client.request('DELETE', `${c}/chat/sessions/${session}`), 200);
    check('deleteSessionInCollection', await client.request('DELETE', `${c}/chat/sessions/${session}`), 404);
    check('addDocumentsInCollection', await client.post(`${c}/documents/batch?wait=true`, { documents: [{ id: 'cells', text: 'Cells are hexagons.' }] }), 200);
    check('listDocumentChunksInCollection', await client.get(`${c}/documents/cells/chunks`), 200);
    check('countDocumentsInCollection', await client.post(`${c}/documents/count`, {}), 200);
    check('updateDocumentMetadataInCollection', await client.request('PATCH', `${c}/documents/cells`, { metadata: { shape: 'hexagon' } }), 200);
    const spare = bodyOf<{ id: string }>(check('createSession', await client.post('/chat/sessions', {}), 201)).id;
    check('deleteSession', await client.request('DELETE', `/chat/sessions/${spare}`), 200);
    check('removeDocumentsInCollection', await client.post(`${c}/documents/delete`, { where: { lang: 'en' }, dryRun: true }), 202);
    check('removeDocumentInCollection', await client.request('DELETE', `${c}/documents/wax`), 202);
    check('createPayloadIndex', await client.post(`${c}/indexes`, { field: 'shape', type: 'keyword' }), 201);
    check('createPayloadIndex', await client.post(`${c}/indexes`, { field: 'shape', type: 'keyword' }), 200);
    check('createPayloadIndex', await client.post(`${c}/indexes`, { field: 'shape', type: 'number' }), 409);
    check('createPayloadIndex', await client.post(`${c}/indexes`, { field: '.shape', type: 'keyword' }), 400);
    check('listPayloadIndexes', await client.get(`${c}/indexes`), 200);
    check('deletePayloadIndex', await client.request('DELETE', `${c}/indexes/shape`), 200);
    check('deletePayloadIndex', await client.request('DELETE', `${c}/indexes/shape`), 404);
    check('deleteCollection', await client.request('DELETE', '/collections/default'), 409);
    check('deleteCollection', await client.request('DELETE', c), 202);
    check('deleteCollection', await client.request('DELETE', c), 404);
    check('getDocumentInCollection', await client.get(`${c}/documents/wax`), 404);
  });

  it('chat routes', async () => {
    const session = bodyOf<{ id: string }>(check('createSession', await client.post('/chat/sessions', { title: 'openapi' }), 201)).id;
    check('createSession', await client.post('/chat/sessions', { id: session }), 409);
    check('getSession', await client.get(`/chat/sessions/${session}`), 200);
    check('getSession', await client.get('/chat/sessions/nope'), 404);
    const asked = bodyOf<{ message: { id: number }; job: { id: string } }>(
      check('ask', await client.post(`/chat/sessions/${session}/messages`, { content: 'What do drones lack?' }), 202),
    );
    await waitFor(
      async () => bodyOf<{ messages: unknown[] }>(await client.get(`/chat/sessions/${session}/messages?after=${asked.message.id}`)).messages.length > 0,
      { timeoutMs: 15_000, what: 'the answer' },
    );
    check('listMessages', await client.get(`/chat/sessions/${session}/messages?after=0`), 200);
    const reply = bodyOf<{ messages: Array<{ id: number }> }>(await client.get(`/chat/sessions/${session}/messages?after=${asked.message.id}`)).messages[0];
    check('answerSources', await client.get(`/chat/messages/${reply?.id ?? 0}/sources`), 200);
    check('answerSources', await client.get(`/chat/messages/${asked.message.id}/sources`), 404);
    check('answerSources', await client.get('/chat/messages/x/sources'), 400);
    check('listDocumentHashes', await client.get('/document-hashes?limit=10'), 200);
    check('listDocumentHashes', await client.get('/document-hashes?prefix=a%20b'), 400);
    check('cancelAnswer', await client.post(`/jobs/answer/${asked.job.id}/cancel`), 409);
    const stream = await fetch(`${web.url}/chat/sessions/${session}/events?access_token=${encodeURIComponent(KEY)}`, { signal: AbortSignal.timeout(10_000) });
    const reader = stream.body?.getReader();
    const first = await reader?.read();
    await reader?.cancel();
    check(
      'sessionEvents',
      { status: stream.status, headers: stream.headers, body: null, text: new TextDecoder().decode(first?.value as Uint8Array | undefined), ms: 0 },
      200,
    );

    await worker.close(); // no worker: the next answer job waits in the queue, where a cancel takes it off
    const waiting = bodyOf<{ job: { id: string } }>(check('ask', await client.post(`/chat/sessions/${session}/messages`, { content: 'Still there?' }), 202));
    const cancelled = check('cancelAnswer', await client.post(`/jobs/answer/${waiting.job.id}/cancel`), 200);
    assert.equal(bodyOf<{ status: string }>(cancelled).status, 'cancelled');
  });

  it('key routes, and what a key with a role below the route gets', async () => {
    const created = bodyOf<{ key: { id: string }; secret: string }>(
      check('createKey', await client.post('/keys', { name: 'reader', role: 'read', collections: ['default'] }), 201),
    );
    check('createKey', await client.post('/keys', { name: 'x', role: 'owner', collections: ['*'] }), 400);
    check('createKey', await client.post('/keys', { name: 'x', role: 'read', collections: ['no-such'] }), 404);
    check('listKeys', await client.get('/keys'), 200);
    const reader = new ApiClient(() => web.url, created.secret);
    check('listDocuments', await reader.get('/documents'), 200);
    check('addDocument', await reader.post('/documents', { text: 'A reader cannot write.' }), 403);
    check('listKeys', await reader.get('/keys'), 403);
    check('queueDashboard', await reader.get('/admin/queues/'), 403);
    check('listDocumentsInCollection', await reader.get('/collections/handbook/documents'), 404);
    check('revokeKey', await client.request('DELETE', `/keys/${created.key.id}`), 200);
    check('revokeKey', await client.request('DELETE', `/keys/key_${'0'.repeat(24)}`), 404);
    check('listDocuments', await reader.get('/documents'), 401);
  });

  it('showed the success answer of every route', () => {
    const missing = routes.filter((route) => {
      const success = Object.keys(route.responses).filter((status) => status.startsWith('2'));
      return !success.some((status) => seen.has(`${route.operationId} ${status}`));
    });
    assert.deepEqual(
      missing.map((route) => route.operationId),
      [],
    );
  });
});
