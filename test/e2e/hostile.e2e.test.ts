/**
 * A barrage of hostile requests against the built web and worker processes (malformed, oversized,
 * injected and unauthenticated), on SQLite and, when TEST_DATABASE_URL is set, on Postgres (a private schema per run).
 * Every answer must be a 4xx JSON error `{error: {code, message}}` without stack or SQL text; no
 * process may die; the documents stored before the barrage must read back unchanged afterwards; and
 * both backends must give the same answer to each request (NUL and lone surrogates included).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { run, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { waitFor } from '../support/wait-for.js';
import { hostileProbes, scopeProbes, type Probe, type ScopeDescription, type ScopeFixture, type ScopeProbe, type ScopeRole } from './hostile-probes.js';

const KEY = `hostile-${randomUUID()}`;
const DATABASE_URL = process.env['TEST_DATABASE_URL'];
const LEAK =
  /\bat [\w.<>$]+ \(|node:internal|file:\/\/|\.[cm]?js:\d+|SQLITE_|sqlite3|syntax error at or near|relation "|violates|jsonpath|json_extract|knex|\bpg_|Traceback/;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  elapsedMs: number;
}

/** One request over node:http, so any method, header and raw body can be sent as is. */
function send(base: string, probe: Pick<Probe, 'method' | 'path' | 'headers' | 'body'>, timeoutMs = 10_000): Promise<Answer> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: probe.method ?? 'GET', path: probe.path, headers: probe.headers ?? {}, timeout: timeoutMs },
      (res) => {
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '', elapsedMs: performance.now() - started }); // a stream ends at its head
          req.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), elapsedMs: performance.now() - started }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${probe.method ?? 'GET'} ${probe.path} timed out`)));
    req.on('error', reject);
    req.end(probe.body);
  });
}

/** Time until the status line of a 50 MB upload arrives; the upload is cut off then. */
function timeToStatus(base: string, path: string, bytes: number, key: string): Promise<{ status: number; elapsedMs: number; text: string }> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': String(bytes), authorization: `Bearer ${key}` },
      },
      (res) => {
        const elapsedMs = performance.now() - started;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, elapsedMs, text: Buffer.concat(chunks).toString('utf8') });
          req.destroy();
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    const chunk = Buffer.alloc(1 << 20, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < bytes && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}

async function getJson(base: string, path: string, key = KEY): Promise<unknown> {
  const answer = await send(base, { path, headers: { authorization: `Bearer ${key}` } });
  assert.equal(answer.status, 200, `${path}: ${answer.text}`);
  return JSON.parse(answer.text) as unknown;
}

async function postJson(base: string, path: string, body: unknown, key = KEY): Promise<{ status: number; json: unknown }> {
  const answer = await send(base, {
    method: 'POST',
    path,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: answer.status, json: JSON.parse(answer.text) as unknown };
}

/** The documents stored before the barrage, and what reading them returns. */
async function seed(base: string): Promise<{ ids: string[]; sessionId: string }> {
  const docs = [
    {
      id: 'hostile-a',
      text: 'Cats purr when they are content, and sometimes when they are hurt.',
      metadata: JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"lang":"en","n":1}') as unknown,
    },
    {
      id: 'hostile-b',
      title: 'Ação — naïve café 😀',
      text: 'Dogs bark at strangers; ação, naïve café, 😀 and 日本語 survive as text.',
      metadata: { lang: 'pt', tags: ['x', 'y'], 'a.b': 'literal' },
    },
    { text: 'A third document without an id, about birds that sing at dawn.', title: null, metadata: { n: 2.5, nested: { deep: { v: true } } } },
  ];
  const ids: string[] = [];
  for (const doc of docs) {
    const { status, json } = await postJson(base, '/documents', doc);
    assert.equal(status, 202, JSON.stringify(json));
    ids.push((json as { document: { id: string } }).document.id);
  }
  await waitFor(
    async () => {
      for (const id of ids) if (((await getJson(base, `/documents/${id}`)) as { status: string }).status !== 'ready') return false;
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'the seeded documents to be ready' },
  );
  const session = await postJson(base, '/chat/sessions', { id: `hostile-${randomUUID().slice(0, 8)}` });
  assert.equal(session.status, 201, JSON.stringify(session.json));
  return { ids, sessionId: (session.json as { id: string }).id };
}

async function snapshot(base: string, ids: string[], sessionId: string): Promise<unknown> {
  const documents = await Promise.all(ids.map((id) => getJson(base, `/documents/${id}`)));
  const messages = await getJson(base, `/chat/sessions/${sessionId}/messages`);
  const list = await getJson(base, '/documents?limit=200');
  const polluted = await getJson(base, `/documents?where=${encodeURIComponent('{"__proto__.polluted":1}')}`);
  const search = await postJson(base, '/search', { query: 'cats purr content', k: 3 });
  assert.equal(search.status, 200, JSON.stringify(search.json));
  return { documents, list, polluted, search: search.json, messages };
}

interface Outcome {
  status: number;
  code: string;
  rules: string;
}

function backends(): Array<{ name: string; databaseUrl?: string }> {
  return [{ name: 'sqlite' }, ...(DATABASE_URL ? [{ name: 'postgres', databaseUrl: DATABASE_URL }] : [])];
}

const outcomesByBackend = new Map<string, Map<string, Outcome>>();

for (const backend of backends()) {
  describe(`hostile requests on ${backend.name}`, () => {
    let stack: ServiceStack | undefined;
    let worker: ServiceProcess;
    let web: WebProcess;
    let seeded: { ids: string[]; sessionId: string };
    let before_: unknown;

    before(async () => {
      stack = await startServiceStack({
        env: {
          API_KEYS: `${KEY},second-key-${randomUUID()}`,
          RATE_LIMIT_MAX: '100000', // the barrage is about validation; rate-limit.e2e.test.ts covers 429
        },
        postgres: backend.databaseUrl !== undefined,
        dataDirPrefix: 'colmeia-hostile-',
      });
      ({ web, worker } = stack);
      seeded = await seed(web.url);
      before_ = await snapshot(web.url, seeded.ids, seeded.sessionId);
    });

    after(async () => {
      await stack?.close();
    });

    it('answers every hostile request with a 4xx JSON error naming code and message', async (t) => {
      const probes = hostileProbes({ key: KEY, sessionId: seeded.sessionId, documentId: seeded.ids[0] ?? 'hostile-a' });
      assert.ok(probes.length >= 80, `only ${probes.length} probes`);
      assert.equal(new Set(probes.map((probe) => probe.name)).size, probes.length, 'probe names are unique');
      const histogram = new Map<number, number>();
      const outcomes = new Map<string, Outcome>();
      for (const probe of probes) {
        const answer = await send(web.url, probe);
        histogram.set(answer.status, (histogram.get(answer.status) ?? 0) + 1);
        const label = `${probe.name}: ${probe.method ?? 'GET'} ${probe.path.slice(0, 80)} → ${answer.status} ${answer.text.slice(0, 300)}`;
        assert.ok(answer.status >= 400 && answer.status < 500, label);
        if (probe.status !== undefined) assert.ok([probe.status].flat().includes(answer.status), `expected ${String(probe.status)}: ${label}`);
        assert.match(String(answer.headers['content-type']), /^application\/json/, label);
        const body = JSON.parse(answer.text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
        assert.equal(typeof body.error?.code, 'string', label);
        assert.match(String(body.error?.code), /^[a-z_]+$/, label);
        assert.ok(typeof body.error?.message === 'string' && body.error.message.length > 0, label);
        assert.doesNotMatch(answer.text, LEAK, label);
        assert.ok(!answer.text.includes(KEY), `the key is echoed: ${label}`);
        assert.equal(answer.headers['x-powered-by'], undefined, label);
        assert.equal(answer.headers['x-content-type-options'], 'nosniff', label);
        const details = body.error?.details;
        if (body.error?.code === 'validation_failed') assert.ok(Array.isArray(details) && details.length > 0, `a 400 names field and rule: ${label}`);
        if (Array.isArray(details)) {
          for (const issue of details as Array<{ path?: unknown; rule?: unknown }>) {
            assert.ok(typeof issue.path === 'string' && typeof issue.rule === 'string', label);
          }
        }
        const rules = Array.isArray(details) ? (details as Array<{ path: string; rule: string }>).map((d) => `${d.path}:${d.rule}`).join(',') : '';
        outcomes.set(probe.name, { status: answer.status, code: String(body.error?.code), rules });
      }
      outcomesByBackend.set(backend.name, outcomes);
      const counts = [...histogram]
        .sort(([a], [b]) => a - b)
        .map(([status, n]) => `${status}×${n}`)
        .join(' ');
      t.diagnostic(`${probes.length} hostile requests on ${backend.name}: ${counts}`);
    });

    it('answers a 50 MB body with 413 before reading it', async (t) => {
      const answer = await timeToStatus(web.url, '/documents', 50 * 1024 * 1024, KEY);
      assert.equal(answer.status, 413, answer.text);
      assert.equal((JSON.parse(answer.text) as { error: { code: string } }).error.code, 'payload_too_large');
      t.diagnostic(`413 after ${answer.elapsedMs.toFixed(1)} ms`);
      assert.ok(answer.elapsedMs < 1_000, `413 took ${answer.elapsedMs} ms`);
    });

    it('keeps both processes alive, unpolluted and the stored documents unchanged', async () => {
      assert.equal(web.exitStatus, undefined, web.tail());
      assert.equal(worker.exitStatus, undefined, worker.tail());
      assert.equal((await send(web.url, { path: '/health' })).status, 200);
      assert.deepEqual(await snapshot(web.url, seeded.ids, seeded.sessionId), before_);
      const polluted = (before_ as { polluted: { documents: Array<{ id: string }> } }).polluted.documents.map((doc) => doc.id);
      assert.deepEqual(polluted, ['hostile-a'], '"__proto__" was stored as data and filters as data');
      for (const proc of [web, worker]) {
        assert.ok(!proc.lines.some((line) => line.includes(KEY)), `${proc.name} logged the API key`);
        assert.ok(!proc.lines.some((line) => /unhandled error|uncaught|unhandledRejection/i.test(line)), `${proc.name}: ${proc.tail()}`);
      }
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    });

    describe('keys scoped to collections', () => scopedKeyTests(() => stack ?? assert.fail('no stack')));
  });
}

const ROLES: readonly ScopeRole[] = ['read', 'write', 'admin'];

async function createKey(base: string, role: ScopeRole, collections: string[], key = KEY): Promise<{ id: string; secret: string }> {
  const created = await postJson(base, '/keys', { name: `${role} over ${collections.join(',')}`, role, collections }, key);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const { key: record, secret } = created.json as { key: { id: string }; secret: string };
  return { id: record.id, secret };
}

/** A collection with a document, a session with a question, their jobs and a key over it alone, made with the env key. */
async function scopeFixture(base: string, collection: string): Promise<ScopeFixture> {
  assert.equal((await postJson(base, '/collections', { id: collection })).status, 201);
  assert.equal((await postJson(base, `/collections/${collection}/indexes`, { field: 'lang', type: 'keyword' })).status, 201); // {field} of the probes
  const doc = await postJson(base, `/collections/${collection}/documents`, { id: 'doc-1', text: `Bees of ${collection} keep nectar in the comb.` });
  assert.equal(doc.status, 202, JSON.stringify(doc.json));
  const sessionId = `${collection}-session`;
  assert.equal((await postJson(base, `/collections/${collection}/chat/sessions`, { id: sessionId })).status, 201);
  const question = await postJson(base, `/collections/${collection}/chat/sessions/${sessionId}/messages`, { content: 'Where is nectar kept?' });
  assert.equal(question.status, 202, JSON.stringify(question.json));
  let answerMessageId = 0;
  await waitFor(
    async () => {
      const page = (await getJson(base, `/collections/${collection}/chat/sessions/${sessionId}/messages`)) as { messages: Array<{ id: number; role: string }> };
      answerMessageId = page.messages.find((message) => message.role === 'assistant')?.id ?? 0;
      return answerMessageId > 0;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `the answer in collection ${collection}` },
  );
  return {
    collection,
    answerMessageId,
    documentId: 'doc-1',
    sessionId,
    ingestJobId: (doc.json as { job: { id: string } }).job.id,
    answerJobId: (question.json as { job: { id: string } }).job.id,
    keyId: (await createKey(base, 'read', [collection])).id,
  };
}

function errorOf(answer: Answer): { code?: string; message?: string; details?: Array<{ rule?: string }> } {
  return answer.headers['content-type']?.startsWith('application/json') ? ((JSON.parse(answer.text) as { error?: object }).error ?? {}) : {};
}

function checkScopeAnswer(probe: ScopeProbe, answer: Answer): void {
  const label = `${probe.name}: ${probe.method} ${probe.path} → ${answer.status} ${answer.text.slice(0, 300)}`;
  const error = errorOf(answer);
  assert.doesNotMatch(answer.text, LEAK, label);
  switch (probe.expect.kind) {
    case 'collection_not_found': // the very answer an unknown collection gets
      assert.equal(answer.status, 404, label);
      assert.deepEqual(error, { code: 'not_found', message: `collection ${probe.expect.collection} not found` }, label);
      break;
    case 'not_found':
      assert.equal(answer.status, 404, label);
      assert.equal(error.code, 'not_found', label);
      break;
    case 'forbidden':
      assert.equal(answer.status, 403, label);
      assert.equal(error.code, 'forbidden', label);
      assert.match(String(error.message), /needs a key (with the (write|admin) role|over every collection)/, label);
      break;
    case 'allowed': // what the route does with its input is its own affair (a 409 for a session made twice); a read finds what it reads
      assert.ok(answer.status < 500 && answer.status !== 401 && answer.status !== 403, label);
      assert.ok(answer.status !== 404 || !/^collection /.test(String(error.message)), label);
      if (probe.method === 'GET') assert.ok([200, 503].includes(answer.status), label); // 503: a source slower than its bound on a loaded machine (/ready, /status)
  }
}

/** Keys over one collection (each role) against every route of the registry, across two web processes, and scripts/keys.sh. */
function scopedKeyTests(started: () => ServiceStack): void {
  let web: WebProcess;
  let web2: WebProcess;
  let a: ScopeFixture;
  let b: ScopeFixture;
  const keys = new Map<ScopeRole, string>();
  const as = (role: ScopeRole) => keys.get(role) ?? assert.fail(`no ${role} key`);

  before(async () => {
    ({ web } = started());
    web2 = await started().startWeb(); // stopped with the stack
    a = await scopeFixture(web.url, 'scope-a');
    b = await scopeFixture(web.url, 'scope-b');
    for (const role of ROLES) keys.set(role, (await createKey(web.url, role, [a.collection])).secret);
  });

  it('hides another collection from the key in lists, counts, jobs, metrics and event streams', async () => {
    const reader = as('read');
    const collections = (await getJson(web.url, '/collections', reader)) as { collections: Array<{ id: string }> };
    assert.deepEqual(
      collections.collections.map((c) => c.id),
      [a.collection],
    );
    const status = (await getJson(web.url, '/status', reader)) as { workers: Array<{ collections?: object }>; queues: unknown[]; documents: object };
    assert.deepEqual(status.queues, [], 'queue counts span collections');
    for (const worker of status.workers)
      assert.ok(
        Object.keys(worker.collections ?? {}).every((c) => c === a.collection),
        JSON.stringify(worker),
      );
    const own = (await getJson(web.url, `/collections/${a.collection}`, reader)) as { documents: number };
    assert.equal(
      Object.values(status.documents).reduce((sum: number, n) => sum + Number(n), 0),
      own.documents,
    );
    await waitFor(
      async () => {
        const text = (await send(web.url, { path: '/metrics', headers: { authorization: `Bearer ${reader}` } })).text;
        return new RegExp(`^colmeia_collection_seq_lag\\{collection="${a.collection}",worker="[^"]+"\\} \\d+$`, 'm').test(text);
      },
      { timeoutMs: 20_000, intervalMs: 250, what: "the workers' heartbeats to carry the collection's index" },
    );
    const metrics = (await send(web.url, { path: '/metrics', headers: { authorization: `Bearer ${reader}` } })).text;
    assert.match(metrics, new RegExp(`^colmeia_collection_documents\\{collection="${a.collection}"\\} 1$`, 'm'));
    assert.doesNotMatch(metrics, /collection="(scope-b|default)"|^colmeia_documents\{|^colmeia_queue_jobs\{/m);
    const all = (await send(web.url, { path: '/metrics', headers: { authorization: `Bearer ${KEY}` } })).text;
    assert.match(all, /^colmeia_collection_documents\{collection="scope-b"\} 1$/m);
    assert.match(all, /^colmeia_documents\{/m);
    const jobs = (await getJson(web.url, '/jobs?limit=200', reader)) as { jobs: Array<{ id: string; collection: string }> };
    assert.deepEqual([...new Set(jobs.jobs.map((job) => job.collection))], [a.collection]);
    assert.ok(jobs.jobs.some((job) => job.id === a.ingestJobId) && jobs.jobs.some((job) => job.id === a.answerJobId), JSON.stringify(jobs));
    const every = (await getJson(web.url, '/jobs?limit=200')) as { jobs: Array<{ id: string }> };
    assert.ok(
      every.jobs.some((job) => job.id === b.ingestJobId),
      'a key over every collection lists every job',
    );
    assert.equal((await send(web.url, { path: `/jobs/ingest/${b.ingestJobId}`, headers: { authorization: `Bearer ${reader}` } })).status, 404);
    assert.equal((await send(web.url, { path: `/jobs/ingest/${a.ingestJobId}`, headers: { authorization: `Bearer ${reader}` } })).status, 200);
    const unrouted = await send(web.url, {
      method: 'PUT',
      path: `/collections/${a.collection}/documents/doc-1`,
      headers: { authorization: `Bearer ${reader}` },
    });
    assert.deepEqual([unrouted.status, errorOf(unrouted).code], [404, 'not_found'], 'a route not in the registry is a 404 for the key');
    const stream = (collection: string, session: string) => `${collection}/chat/sessions/${session}/events?access_token=${encodeURIComponent(reader)}`;
    assert.equal((await send(web.url, { path: stream(`/collections/${b.collection}`, b.sessionId) })).status, 404);
    assert.equal((await send(web.url, { path: stream('', b.sessionId) })).status, 404);
    const own_ = await send(web.url, { path: stream(`/collections/${a.collection}`, a.sessionId) });
    assert.equal(own_.status, 200);
    assert.match(String(own_.headers['content-type']), /^text\/event-stream/);
    const hidden = errorOf(
      await send(web.url, {
        method: 'POST',
        path: `/collections/${b.collection}/search`,
        headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' },
        body: '{"query":"x"}',
      }),
    );
    const unknown = errorOf(
      await send(web.url, {
        method: 'POST',
        path: '/collections/no-such/search',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: '{"query":"x"}',
      }),
    );
    assert.deepEqual({ ...hidden, message: hidden.message?.replace(b.collection, 'X') }, { ...unknown, message: unknown.message?.replace('no-such', 'X') });
  });

  it('answers every route of the registry by the key role and scope: 404 outside, 403 above the role, no refusal within', async (t) => {
    const description = (await getJson(web.url, '/openapi.json')) as ScopeDescription;
    const probes = ROLES.flatMap((role) => scopeProbes(description, role, a, b).map((probe) => ({ role, probe })));
    // removals within the scope come after every read of what they remove, and deleting the collection last
    const rank = ({ probe }: { probe: ScopeProbe }) =>
      probe.expect.kind !== 'allowed' || probe.method !== 'DELETE' ? 0 : probe.operationId === 'deleteCollection' ? 2 : 1;
    const ordered = [...probes].sort((x, y) => rank(x) - rank(y));
    const histogram = new Map<string, number>();
    for (const { role, probe } of ordered) {
      const headers: Record<string, string> = { authorization: `Bearer ${as(role)}`, ...(probe.body ? { 'content-type': 'application/json' } : {}) };
      const answer = await send(web.url, { method: probe.method, path: probe.path, headers, body: probe.body });
      checkScopeAnswer(probe, answer);
      histogram.set(`${probe.expect.kind} ${answer.status}`, (histogram.get(`${probe.expect.kind} ${answer.status}`) ?? 0) + 1);
    }
    const operations = new Set(probes.map(({ probe }) => probe.operationId));
    assert.ok(operations.size >= 30, `only ${operations.size} operations probed`);
    t.diagnostic(`${probes.length} scope probes over ${operations.size} operations: ${[...histogram].map(([k, n]) => `${k}×${n}`).join(', ')}`);
    assert.equal(web.exitStatus, undefined, web.tail());
  });

  it('honours a key made through one web process on another, and its revocation through the other on the first', async () => {
    const made = await createKey(web.url, 'read', [b.collection]);
    const read = (base: string) => send(base, { path: `/collections/${b.collection}/documents`, headers: { authorization: `Bearer ${made.secret}` } });
    assert.equal((await read(web2.url)).status, 200);
    const revoked = await send(web2.url, { method: 'DELETE', path: `/keys/${made.id}`, headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(revoked.status, 200, revoked.text);
    for (const base of [web.url, web2.url]) {
      const answer = await read(base);
      assert.equal(answer.status, 401, answer.text);
      assert.equal(errorOf(answer).code, 'unauthorized');
    }
    const listed = (await getJson(web.url, '/keys')) as { keys: Array<{ id: string; revokedAt: string | null }> };
    assert.notEqual(listed.keys.find((k) => k.id === made.id)?.revokedAt ?? null, null);
  });

  it('makes, lists and revokes keys with scripts/keys.sh', async () => {
    const keysSh = (base: string, args: string[], apiKey = KEY) => run('bash', ['scripts/keys.sh', ...args], { API_URL: base, API_KEY: apiKey });
    const created = await keysSh(web.url, ['create', 'script writer', '--role', 'write', '-c', b.collection]);
    assert.equal(created.code, 0, created.stderr);
    const secret = created.stdout.trim();
    assert.match(secret, /^colmeia_\S+$/);
    const id = /created (key_[0-9a-f]+)/.exec(created.stderr)?.[1] ?? assert.fail(created.stderr);
    const listed = await keysSh(web2.url, ['list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${id}  write  \\["${b.collection}"\\]  \\S+  active  script writer$`, 'm'));
    const write = (base: string, collection: string) =>
      postJson(base, `/collections/${collection}/documents`, { id: 'from-script-key', text: 'Written with a key made by keys.sh.' }, secret);
    assert.equal((await write(web2.url, b.collection)).status, 202);
    assert.equal((await write(web2.url, a.collection)).status, 404);
    const refused = await keysSh(web.url, ['list'], secret);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /HTTP 403 forbidden: .*admin role/);
    const revoked = await keysSh(web2.url, ['revoke', id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await write(web.url, b.collection)).status, 401);
    assert.match((await keysSh(web.url, ['list'])).stdout, new RegExp(`^${id}  write  .*  revoked \\S+  script writer$`, 'm'));
    assert.match((await keysSh(web.url, ['--help'])).stdout, /Usage: scripts\/keys.sh create/);
  });
}

describe('hostile requests across backends', () => {
  it('gives the same answer to every request on SQLite and Postgres', (t) => {
    const sqlite = outcomesByBackend.get('sqlite');
    const postgres = outcomesByBackend.get('postgres');
    if (!sqlite || !postgres) {
      t.skip('TEST_DATABASE_URL is not set (or a backend run failed)');
      return;
    }
    assert.deepEqual(Object.fromEntries(postgres), Object.fromEntries(sqlite));
  });
});
