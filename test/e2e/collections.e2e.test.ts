/**
 * Collections against real processes: one web, two workers, three collections (default, one made
 * before the workers start, one made while they run). Every acknowledged document is found in its
 * own collection and never in another, the same document id in two collections is two documents,
 * a collection made while the workers run is served by both, each collection's index holds only its
 * own chunks (a small collection's search never sees the large one's vectors), and a deleted
 * collection is gone from both workers: its routes answer 404 and its checkpoints leave the disk.
 * On SQLite the workers share a DATA_DIR; on Postgres each has its own.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient } from './jobs-harness.js';

const KEY = 'collections-e2e-key';
const MODES = ['hybrid', 'lexical', 'vector'] as const;
const LARGE = 40; // documents in default
const SMALL = 4; // documents in each other collection

interface WorkerIndex {
  size: number;
  checkpointSeq: number;
}
interface StatusBody {
  workers: Array<{ id: string; collections?: Record<string, WorkerIndex> }>;
}

function marker(collection: string, i: number): string {
  return `mk${collection.replace(/[^a-z]/g, '')}q${(i * 7919 + collection.length * 104729).toString(36)}z${i}`;
}

const scenarios = [
  { name: 'SQLite, two workers on one host', postgres: false },
  ...(process.env['TEST_DATABASE_URL'] ? [{ name: 'Postgres, two workers with their own disks', postgres: true }] : []),
];

for (const scenario of scenarios) {
  describe(`collections: ${scenario.name}`, () => {
    let stack: ServiceStack | undefined;
    const workerDirs: string[] = [];
    let api: ApiClient;

    const status = async () => (await api.get('/status')).body as StatusBody;
    const bothWorkersHold = async (collection: string, size: number) =>
      (await status()).workers.filter((w) => w.collections?.[collection]?.size === size).length === 2;
    const ingest = async (prefix: string, collection: string, count: number) => {
      const jobs = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const reply = await api.post(`${prefix}/documents`, { id: `doc-${i}`, text: `Note ${i} of ${collection}: unique marker ${marker(collection, i)}.` });
          assert.equal(reply.status, 202, reply.text);
          return (reply.body as { job: { queue: string; id: string } }).job; // POSTs that arrive together share an ingest-batch job
        }),
      );
      for (const job of jobs) {
        await waitFor(async () => (await api.job(job.queue, job.id)).status === 'succeeded', { timeoutMs: 60_000, what: `ingest ${job.id}` });
      }
    };

    before(async () => {
      stack = await startServiceStack({
        env: { API_KEYS: KEY, QUEUE_PREFIX: 'collections', RATE_LIMIT_MAX: '1000000', HEARTBEAT_INTERVAL_MS: '300', CHECKPOINT_INTERVAL_MS: '300' },
        workers: 0,
        postgres: scenario.postgres,
      });
      const { web } = stack;
      api = new ApiClient(() => web.url, KEY);
      const created = await api.post('/collections', { id: 'alpha', title: 'Alpha' }); // before the workers: loaded at their start
      assert.equal(created.status, 201, created.text);
      await Promise.all([stack.startWorker(), stack.startWorker()]);
      workerDirs.push(...stack.workerDirs);
    });

    after(async () => {
      await stack?.close();
    });

    it('serves a collection created while the workers run from both workers', async () => {
      const created = await api.post('/collections', { id: 'beta', metadata: { kind: 'late' } });
      assert.equal(created.status, 201, created.text);
      assert.equal((await api.post('/collections', { id: 'beta' })).status, 409);
      await waitFor(() => bothWorkersHold('beta', 0), { timeoutMs: 10_000, what: 'both workers holding an index of beta' });
      const listed = (await api.get('/collections')).body as { collections: Array<{ id: string }> };
      assert.deepEqual(
        listed.collections.map((c) => c.id),
        ['alpha', 'beta', 'default'],
      );
    });

    it('finds every acknowledged document in its own collection and never in another', async () => {
      await ingest('', 'default', LARGE);
      await ingest('/collections/alpha', 'alpha', SMALL);
      await ingest('/collections/beta', 'beta', SMALL);
      const collections = [
        { id: 'default', prefix: '', count: LARGE },
        { id: 'alpha', prefix: '/collections/alpha', count: SMALL },
        { id: 'beta', prefix: '/collections/beta', count: SMALL },
      ];
      let misses = 0;
      let leaks = 0;
      for (const own of collections) {
        for (let i = 0; i < own.count; i += own.count === LARGE ? 5 : 1) {
          for (const other of collections) {
            for (const mode of MODES) {
              const reply = await api.post(`${other.prefix}/search`, { query: marker(own.id, i), k: 3, mode });
              assert.equal(reply.status, 200, reply.text);
              const hits = (reply.body as { results: Array<{ documentId: string; text: string }> }).results;
              if (other.id === own.id && (hits[0]?.documentId !== `doc-${i}` || !hits[0].text.includes(marker(own.id, i)))) misses++;
              if (other.id !== own.id) leaks += hits.filter((hit) => hit.text.includes(marker(own.id, i))).length;
            }
          }
        }
      }
      assert.equal(misses, 0, 'documents missed in their own collection');
      assert.equal(leaks, 0, "hits from another collection's documents");
      const inDefault = (await api.get('/documents/doc-0')).body as { contentHash: string };
      const inAlpha = (await api.get('/collections/alpha/documents/doc-0')).body as { contentHash: string };
      assert.notEqual(inDefault.contentHash, inAlpha.contentHash, 'one id, two documents');
    });

    it("keeps each collection's index to its own chunks in both workers", async () => {
      await waitFor(async () => (await bothWorkersHold('alpha', SMALL)) && (await bothWorkersHold('default', LARGE)), {
        timeoutMs: 10_000,
        what: 'heartbeats with every collection synced',
      });
      const reply = await api.post('/collections/alpha/search', { query: 'note unique marker', k: 50, mode: 'vector' });
      assert.equal((reply.body as { results: unknown[] }).results.length, SMALL, "a vector search in alpha sees alpha's index only");
      const detail = (await api.get('/collections/alpha')).body as { documents: number; chunks: number; workers: WorkerIndex[] };
      assert.equal(detail.documents, SMALL);
      assert.equal(detail.chunks, SMALL);
      assert.deepEqual(
        detail.workers.map((w) => w.size),
        [SMALL, SMALL],
      );
    });

    it('deletes a collection from both workers, with its checkpoints, and never the default one', async () => {
      assert.equal((await api.request('DELETE', '/collections/default')).status, 409);
      const beta = (dir: string) => path.join(dir, 'index', 'beta', 'CURRENT');
      await waitFor(() => workerDirs.every((dir) => existsSync(beta(dir))), { timeoutMs: 15_000, what: "beta's checkpoints on disk" });
      const reply = await api.request('DELETE', '/collections/beta');
      assert.equal(reply.status, 202, reply.text);
      assert.equal((await api.post('/collections/beta/search', { query: marker('beta', 0) })).status, 404);
      const job = (reply.body as { job: { id: string } }).job.id;
      await waitFor(async () => (await api.job('drop-collection', job)).status === 'succeeded', { timeoutMs: 30_000, what: 'the deletion' });
      assert.deepEqual((await api.job('drop-collection', job)).result, { collection: 'beta', documents: SMALL, chunks: SMALL, sessions: 0 });
      await waitFor(async () => (await status()).workers.every((w) => w.collections !== undefined && !('beta' in w.collections)), {
        timeoutMs: 10_000,
        what: 'both workers letting beta go',
      });
      await waitFor(() => workerDirs.every((dir) => !existsSync(path.join(dir, 'index', 'beta'))), { timeoutMs: 10_000, what: "beta's checkpoints removed" });
      const search = await api.post('/collections/beta/search', { query: marker('beta', 0) });
      assert.equal(search.status, 404);
      assert.match(search.text, /collection beta not found/);
      assert.equal((await api.get('/collections/beta')).status, 404);
      for (const mode of MODES) {
        const elsewhere = await api.post('/search', { query: marker('beta', 0), k: 5, mode });
        assert.equal((elsewhere.body as { results: Array<{ text: string }> }).results.filter((hit) => hit.text.includes(marker('beta', 0))).length, 0);
      }
      const again = await api.post('/collections', { id: 'beta' }); // the same id, a new collection: empty, served by both workers
      assert.equal(again.status, 201, again.text);
      await waitFor(() => bothWorkersHold('beta', 0), { timeoutMs: 10_000, what: 'both workers holding the new beta' });
      const empty = await api.post('/collections/beta/search', { query: marker('beta', 0), k: 5 });
      assert.deepEqual((empty.body as { results: unknown[] }).results, []);
    });
  });
}
