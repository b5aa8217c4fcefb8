/**
 * Payload indexes against real processes: one web, two workers. A declaration reaches both
 * workers through the change log without a restart (each lists the field in its heartbeat), a
 * filtered search on it returns the chunks SQL would, a metadata PATCH is seen by the next
 * filtered search whichever worker answers, and once the declaration is dropped both workers go
 * back to SQL with the same answers. The routes refuse what they should: another type, a bad
 * field, one index more than MAX_PAYLOAD_INDEXES, a key below admin.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startWeb, startWorker, tempDataDir, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { createPostgresSchema, type PostgresSchema } from '../support/postgres-schema.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient } from './jobs-harness.js';

const KEY = 'payload-indexes-e2e-key';
const DOCS = 24;
const SEARCHES = 12; // per check: enough that both workers answer some

interface Hit {
  documentId: string;
  metadata: Record<string, unknown>;
}
interface CollectionDetail {
  workers: Array<{ id: string; payloadFields?: string[] }>;
}

const scenarios = [{ name: 'SQLite', postgres: false }, ...(process.env['TEST_DATABASE_URL'] ? [{ name: 'Postgres', postgres: true }] : [])];

for (const scenario of scenarios) {
  describe(`payload indexes: ${scenario.name}, two workers`, () => {
    let redis: RedisServerHandle;
    let schema: PostgresSchema | undefined;
    let web: WebProcess;
    const workers: ServiceProcess[] = [];
    let api: ApiClient;

    const bothWorkersList = async (fields: string[]) => {
      const detail = (await api.get('/collections/default')).body as CollectionDetail;
      return detail.workers.filter((w) => JSON.stringify(w.payloadFields ?? []) === JSON.stringify(fields)).length === 2;
    };
    const search = async (where: unknown, k = 50): Promise<Hit[]> => {
      const reply = await api.post('/search', { query: 'hive notes', k, mode: 'vector', where });
      assert.equal(reply.status, 200, reply.text);
      return (reply.body as { results: Hit[] }).results;
    };
    const documentsOf = (hits: readonly Hit[]) => [...new Set(hits.map((hit) => hit.documentId))].sort();

    before(async () => {
      redis = await startRedisServer();
      schema = scenario.postgres ? await createPostgresSchema(process.env['TEST_DATABASE_URL'] ?? '') : undefined;
      const env = (dataDir: string) => ({
        REDIS_URL: redis.url,
        DATA_DIR: dataDir,
        API_KEYS: KEY,
        QUEUE_PREFIX: 'payload',
        RATE_LIMIT_MAX: '1000000',
        HEARTBEAT_INTERVAL_MS: '300',
        MAX_PAYLOAD_INDEXES: '3',
        ...(schema ? { DATABASE_URL: schema.url } : {}),
      });
      const shared = tempDataDir();
      web = await startWeb(env(shared));
      await web.waitForHttp(web.url);
      api = new ApiClient(() => web.url, KEY);
      for (let i = 0; i < 2; i++) workers.push(await startWorker(env(scenario.postgres ? tempDataDir() : shared)));
      await Promise.all(workers.map((w) => w.waitForLine(/worker ready/, 30_000)));
      const documents = Array.from({ length: DOCS }, (_, i) => ({
        id: `doc-${i}`,
        text: `Hive note ${i}: the bees of hive ${i % 4} made honey in ${2020 + (i % 3)}.`,
        metadata: { year: 2020 + (i % 3), hive: `h${i % 4}`, tags: i % 2 === 0 ? ['even', i] : 'odd' },
      }));
      const stored = await api.request('POST', '/documents/batch?wait=true', { documents });
      assert.equal(stored.status, 200, stored.text);
    });

    after(async () => {
      await Promise.allSettled([web?.close(), ...workers.map((w) => w.close())]);
      await redis?.stop();
      await schema?.drop();
    });

    it('declares, lists and refuses what it should', async () => {
      const sqlAnswer = documentsOf(await search({ year: 2021 }));
      const created = await api.post('/collections/default/indexes', { field: 'year', type: 'number' });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual({ ...(created.body as object), createdAt: undefined }, { field: 'year', type: 'number', createdAt: undefined });
      assert.equal((await api.post('/collections/default/indexes', { field: 'year', type: 'number' })).status, 200);
      assert.equal((await api.post('/collections/default/indexes', { field: 'year', type: 'keyword' })).status, 409);
      assert.equal((await api.post('/collections/default/indexes', { field: 'a..b', type: 'keyword' })).status, 400);
      assert.equal((await api.post('/collections/default/indexes', { field: 'year', type: 'date' })).status, 400);
      assert.equal((await api.post('/collections/nope/indexes', { field: 'year', type: 'number' })).status, 404);
      const key = await api.post('/keys', { name: 'reader', role: 'read', collections: ['*'] });
      assert.equal(key.status, 201, key.text);
      const reader = new ApiClient(() => web.url, (key.body as { secret: string }).secret);
      assert.equal((await reader.post('/collections/default/indexes', { field: 'hive', type: 'keyword' })).status, 403);
      assert.equal((await api.post('/collections/default/indexes', { field: 'tags', type: 'keyword' })).status, 201);
      assert.equal((await api.post('/collections/default/indexes', { field: 'hive', type: 'keyword' })).status, 201);
      assert.equal((await api.post('/collections/default/indexes', { field: 'other', type: 'bool' })).status, 409); // MAX_PAYLOAD_INDEXES=3
      const listed = (await api.get('/collections/default/indexes')).body as { indexes: Array<{ field: string; type: string }> };
      assert.deepEqual(
        listed.indexes.map((index) => [index.field, index.type]),
        [
          ['hive', 'keyword'],
          ['tags', 'keyword'],
          ['year', 'number'],
        ],
      );
      await waitFor(() => bothWorkersList(['hive', 'tags', 'year']), { timeoutMs: 15_000, what: 'both workers holding the declared fields' });
      for (let i = 0; i < SEARCHES; i++) assert.deepEqual(documentsOf(await search({ year: 2021 })), sqlAnswer);
    });

    it('answers filters on declared fields as SQL does, and sees a metadata PATCH at once', async () => {
      const expected = Array.from({ length: DOCS }, (_, i) => i)
        .filter((i) => (i % 2 === 0 && i % 3 !== 0) || i % 4 === 1)
        .map((i) => `doc-${i}`)
        .sort();
      for (let i = 0; i < SEARCHES; i++) {
        const hits = await search({ $or: [{ $and: [{ tags: { $contains: 'even' } }, { year: { $ne: 2020 } }] }, { hive: 'h1' }] });
        assert.deepEqual(documentsOf(hits), expected);
      }
      for (let i = 0; i < SEARCHES; i++) assert.equal(documentsOf(await search({ year: { $gte: 2021 } }, 5)).length, 5, 'k hits when k match');
      const patched = await api.request('PATCH', '/documents/doc-0', { metadata: { year: 2031, hive: 'h9', tags: 'moved' } });
      assert.equal(patched.status, 200, patched.text);
      for (let i = 0; i < SEARCHES; i++) {
        assert.deepEqual(documentsOf(await search({ year: 2031 })), ['doc-0']);
        assert.ok(!documentsOf(await search({ tags: { $contains: 'even' } })).includes('doc-0'));
      }
    });

    it('goes back to SQL on both workers once a declaration is dropped, with the same answers', async () => {
      const before = documentsOf(await search({ hive: 'h2' }));
      const dropped = await api.request('DELETE', '/collections/default/indexes/hive');
      assert.equal(dropped.status, 200, dropped.text);
      assert.equal((await api.request('DELETE', '/collections/default/indexes/hive')).status, 404);
      await waitFor(() => bothWorkersList(['tags', 'year']), { timeoutMs: 15_000, what: 'both workers dropping hive' });
      for (let i = 0; i < SEARCHES; i++) assert.deepEqual(documentsOf(await search({ hive: 'h2' })), before);
    });
  });
}
