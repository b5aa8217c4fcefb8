/**
 * Embedders per collection and reindex generations against real processes: one web, two workers,
 * the Ollama test server with two embedding models of different dimensions (768 and 1024), and
 * four collections: default (builtin, 384), nomic (ollama:nomic-embed-text), large
 * (ollama:mxbai-embed-large) and ghost (a model Ollama does not have). Every acknowledged document
 * is found in its own collection and never in another, with vectors of its collection's dimension;
 * ghost is degraded (503 naming its embedder, never an address) while the others serve; and a
 * reindex of nomic to the 1024-dimension model while 200 documents are ingested into it, through a
 * kill -9 of the worker building it, ends with every document present exactly once with the new
 * model's vectors, the workers switched without a restart, and no search failing meanwhile.
 * On SQLite the workers share a DATA_DIR; on Postgres each has its own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import knex, { type Knex } from 'knex';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { run, startWeb, startWorker, tempDataDir, type Env, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { createPostgresSchema, type PostgresSchema } from '../support/postgres-schema.js';
import { defaultTestModels, largeEmbeddingModel, startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient, openSqlite } from './jobs-harness.js';

const KEY = 'embedders-e2e-key';
const EARLY = 6; // documents per collection before the reindex
const DURING = 200; // documents ingested into nomic while it is reindexed
const DIMENSIONS: Record<string, number> = { default: 384, nomic: 768, large: 1024 };
const ADDRESS = /127\.0\.0\.1|localhost|:\d{4,5}\b/;

interface SearchHit {
  documentId: string;
  text: string;
}
interface CollectionWorker {
  generation?: number;
  embedder?: string;
  status?: string;
}

const WORDS = [
  'amber',
  'basil',
  'cedar',
  'dune',
  'ember',
  'fjord',
  'glade',
  'heron',
  'iris',
  'jade',
  'kelp',
  'lotus',
  'moss',
  'nectar',
  'opal',
  'pine',
  'quill',
  'reed',
  'sage',
  'thyme',
];

function marker(collection: string, i: number): string {
  return `mk${collection}q${(i * 7919 + collection.length * 104729).toString(36)}z${i}`;
}

/**
 * A document's text: a few topic words it shares with some others, and its marker. Texts that
 * differ only in a marker would all be equally far apart, a set on which HNSW's neighbour
 * selection keeps too few links to find anything; the test server's vectors are word hashes.
 */
function textOf(collection: string, i: number): string {
  return `${WORDS[i % 20] ?? ''} ${WORDS[Math.floor(i / 20) % 20] ?? ''} ${WORDS[(i * 7) % 20] ?? ''} note ${marker(collection, i)}`;
}
const prefixOf = (collection: string) => (collection === 'default' ? '' : `/collections/${collection}`);

const scenarios = [
  { name: 'SQLite, two workers on one host', postgres: false },
  ...(process.env['TEST_DATABASE_URL'] ? [{ name: 'Postgres, two workers with their own disks', postgres: true }] : []),
];

for (const scenario of scenarios) {
  describe(`embedders per collection: ${scenario.name}`, () => {
    let redis: RedisServerHandle;
    let ollama: OllamaTestServer;
    let schema: PostgresSchema | undefined;
    let web: WebProcess;
    let db: Knex;
    let env: (dataDir: string) => Env;
    const workers: ServiceProcess[] = [];
    let api: ApiClient;
    const shared = tempDataDir();

    const startOneWorker = async () => {
      const worker = await startWorker(env(scenario.postgres ? tempDataDir() : shared));
      await worker.waitForLine(/worker ready/, 30_000);
      workers.push(worker);
      return worker;
    };
    const search = async (collection: string, query: string, mode = 'hybrid') => api.post(`${prefixOf(collection)}/search`, { query, k: 3, mode });
    const hitsOf = (body: unknown) => (body as { results: SearchHit[] }).results;
    const ingest = async (collection: string, from: number, count: number) => {
      const jobs: string[] = [];
      for (let i = from; i < from + count; i++) {
        const reply = await api.post(`${prefixOf(collection)}/documents`, {
          id: `doc-${i}`,
          text: textOf(collection, i),
        });
        assert.equal(reply.status, 202, reply.text);
        jobs.push((reply.body as { job: { id: string } }).job.id);
      }
      return jobs;
    };
    const succeeded = async (queue: string, jobs: readonly string[], timeoutMs = 60_000) => {
      for (const job of jobs) await waitFor(async () => (await api.job(queue, job)).status === 'succeeded', { timeoutMs, what: `${queue} ${job}` });
    };
    const collectionWorkers = async (collection: string) => ((await api.get(`/collections/${collection}`)).body as { workers: CollectionWorker[] }).workers;

    before(async () => {
      redis = await startRedisServer();
      ollama = await startOllamaTestServer({ models: [...defaultTestModels, largeEmbeddingModel] });
      schema = scenario.postgres ? await createPostgresSchema(process.env['TEST_DATABASE_URL'] ?? '') : undefined;
      env = (dataDir: string) => ({
        REDIS_URL: redis.url,
        DATA_DIR: dataDir,
        API_KEYS: KEY,
        QUEUE_PREFIX: 'embedders',
        RATE_LIMIT_MAX: '1000000',
        OLLAMA_HOST: ollama.url,
        HEARTBEAT_INTERVAL_MS: '300',
        CHECKPOINT_INTERVAL_MS: '300',
        STALL_INTERVAL_MS: '1000',
        JOB_BACKOFF_MS: '100',
        EMBED_BATCH_SIZE: '2',
        ...(schema ? { DATABASE_URL: schema.url } : {}),
      });
      web = await startWeb(env(shared));
      await web.waitForHttp(web.url);
      api = new ApiClient(() => web.url, KEY);
      for (const [id, embedder] of [
        ['nomic', 'ollama:nomic-embed-text'],
        ['large', 'ollama:mxbai-embed-large'],
        ['ghost', 'ollama:absent-model'],
      ] as const) {
        const created = await api.post('/collections', { id, embedder });
        assert.equal(created.status, 201, created.text);
        assert.equal((created.body as { embedder: string }).embedder, embedder);
      }
      assert.equal((await api.post('/collections', { id: 'odd', embedder: 'word2vec' })).status, 400);
      await startOneWorker();
      await startOneWorker();
      db = schema ? knex({ client: 'pg', connection: schema.url }) : openSqlite(shared);
    });

    after(async () => {
      await db?.destroy();
      await Promise.allSettled([web?.close(), ...workers.map((w) => w.close())]);
      await ollama?.close();
      await redis?.stop();
      await schema?.drop();
    });

    it('embeds each collection with its own model and finds every document in its own collection only', async () => {
      const served = ['default', 'nomic', 'large'];
      for (const collection of served) await succeeded('ingest', await ingest(collection, 0, EARLY));
      let misses = 0;
      let leaks = 0;
      for (const own of served) {
        for (let i = 0; i < EARLY; i++) {
          for (const other of served) {
            for (const mode of ['vector', 'hybrid']) {
              const reply = await search(other, mode === 'vector' ? textOf(own, i) : marker(own, i), mode);
              assert.equal(reply.status, 200, reply.text);
              const hits = hitsOf(reply.body);
              if (other === own && (hits[0]?.documentId !== `doc-${i}` || !hits[0].text.includes(marker(own, i)))) misses++;
              if (other !== own) leaks += hits.filter((hit) => hit.text.includes(marker(own, i))).length;
            }
          }
        }
      }
      assert.equal(misses, 0, 'documents missed in their own collection');
      assert.equal(leaks, 0, "hits from another collection's documents");
      for (const collection of served) assert.deepEqual(await embeddingDimensions(db, collection), [DIMENSIONS[collection]], collection);
      const nomic = (await api.get('/collections/nomic')).body as { fingerprint: string; generation: number };
      assert.match(nomic.fingerprint, /^ollama:nomic-embed-text:latest:[0-9a-f]{12}:768$/);
      assert.equal(nomic.generation, 1);
      await waitFor(async () => (await collectionWorkers('large')).filter((w) => w.status === 'ready' && w.embedder?.endsWith(':1024')).length === 2, {
        timeoutMs: 10_000,
        what: 'both workers serving large with the 1024-dimension model',
      });
    });

    it('reports a collection whose model is missing degraded, naming its embedder and never an address, while the others serve', async () => {
      await waitFor(async () => (await collectionWorkers('ghost')).filter((w) => /^degraded: .*absent-model/.test(w.status ?? '')).length === 2, {
        timeoutMs: 10_000,
        what: 'both workers reporting ghost degraded',
      });
      for (const w of await collectionWorkers('ghost')) assert.doesNotMatch(w.status ?? '', ADDRESS);
      const status = (await api.get('/status')).body as { workers: Array<{ status: string }> };
      assert.ok(
        status.workers.every((w) => /degraded: .*collection ghost/.test(w.status) && !ADDRESS.test(w.status)),
        JSON.stringify(status.workers),
      );
      const refused = await search('ghost', 'anything');
      assert.equal(refused.status, 503, refused.text);
      assert.ok(refused.headers.get('retry-after'), 'a 503 says when to come back');
      assert.match(refused.text, /ollama:absent-model/);
      assert.doesNotMatch(refused.text, ADDRESS);
      assert.equal((await search('ghost', 'anything', 'lexical')).status, 200, 'lexical search needs no embedder');
      const [job = ''] = await ingest('ghost', 0, 1);
      await waitFor(async () => (await api.job('ingest', job)).status === 'failed', { timeoutMs: 30_000, what: 'the ghost ingest failing after its retries' });
      const failed = await api.job('ingest', job);
      assert.ok(failed.attempts > 1, 'retried before failing');
      assert.match(failed.error?.message ?? '', /absent-model/);
      assert.doesNotMatch(failed.error?.message ?? '', ADDRESS);
      const removal = await api.request('DELETE', '/collections/ghost/documents/doc-0');
      assert.equal(removal.status, 202, removal.text);
      await succeeded('remove', [(removal.body as { job: { id: string } }).job.id], 30_000); // rows go without an embedder
      for (const collection of ['default', 'nomic', 'large']) {
        const reply = await search(collection, textOf(collection, 1), 'vector');
        assert.equal(hitsOf(reply.body)[0]?.documentId, 'doc-1', `${collection} serves while ghost is degraded`);
      }
    });

    it('reindexes nomic while 200 documents are ingested into it, through a kill -9 of the building worker, with no search failing', async (t) => {
      await ollama.setBehaviour({ initialDelayMs: 25 }); // each embed call takes a little while, so the build spans the kill
      const searches = { ok: 0, failed: [] as string[], missed: [] as string[] };
      let isSearching = true;
      const searching = (async () => {
        for (let i = 0; isSearching; i++) {
          const reply = await search('nomic', textOf('nomic', i % EARLY), i % 2 === 0 ? 'vector' : 'hybrid');
          if (reply.status !== 200) searches.failed.push(`${reply.status} ${reply.text}`);
          else if (hitsOf(reply.body)[0]?.documentId !== `doc-${i % EARLY}`) {
            searches.missed.push(
              `${new Date().toISOString()} doc-${i % EARLY} ${i % 2 === 0 ? 'vector' : 'hybrid'}: ${hitsOf(reply.body)
                .map((hit) => hit.documentId)
                .join(' ')}`,
            );
          } else searches.ok++;
        }
      })();
      const ingesting = ingest('nomic', EARLY, DURING);
      await waitFor(async () => ((await api.get('/collections/nomic')).body as { chunks: number }).chunks >= EARLY + DURING / 4, {
        timeoutMs: 60_000,
        what: 'a quarter of the documents ingested before the reindex starts',
      });
      const accepted = await api.post('/collections/nomic/reindex', { embedder: 'ollama:mxbai-embed-large' });
      assert.equal(accepted.status, 202, accepted.text);
      const reindex = (accepted.body as { job: { id: string }; generation: number }).job.id;
      assert.equal((accepted.body as { generation: number }).generation, 2);
      assert.equal((await api.post('/collections/nomic/reindex', { embedder: 'builtin' })).status, 409, 'one reindex at a time');
      const builder = await Promise.race(workers.map(async (w) => w.waitForLine(/reindex building/, 30_000).then(() => w)));
      await waitFor(async () => ((await api.job('reindex', reindex)).progressDetail?.done ?? 0) > 0, { timeoutMs: 30_000, what: 'the build staging vectors' });
      const atKill = await api.job('reindex', reindex);
      assert.equal(atKill.status, 'active', 'the kill comes while the generation is being built');
      await builder.kill();
      workers.splice(workers.indexOf(builder), 1);
      await startOneWorker();
      const jobs = await ingesting;
      await succeeded('reindex', [reindex], 120_000);
      await succeeded('ingest', jobs, 120_000);
      isSearching = false;
      await searching;
      t.diagnostic(`searches during the reindex: ${searches.ok} answered, ${searches.failed.length} failed, ${searches.missed.length} missed`);
      assert.deepEqual(searches.failed, [], 'searches failed during the reindex');
      assert.deepEqual(searches.missed, [], 'searches that missed a document during the reindex');

      assert.ok((await api.job('reindex', reindex)).attempts >= 2, 'the build was resumed by another attempt');
      const result = (await api.job('reindex', reindex)).result as { status: string; generation: number; embedder: string; chunks: number };
      assert.equal(result.status, 'swapped');
      assert.match(result.embedder, /^ollama:mxbai-embed-large:latest:[0-9a-f]{12}:1024$/);
      await assertEveryDocumentOnce(db, 'nomic', EARLY + DURING);
      assert.deepEqual(await embeddingDimensions(db, 'nomic'), [1024], "every chunk carries the new model's vectors");
      assert.deepEqual(await embeddingDimensions(db, 'large'), [1024], 'large untouched');
      assert.deepEqual(await embeddingDimensions(db, 'default'), [384], 'default untouched');
      const nomic = (await api.get('/collections/nomic')).body as { generation: number; embedder: string; buildingGeneration: number | null };
      assert.deepEqual([nomic.generation, nomic.embedder, nomic.buildingGeneration], [2, 'ollama:mxbai-embed-large', null]);
      await waitFor(async () => (await collectionWorkers('nomic')).filter((w) => w.generation === 2 && w.embedder?.endsWith(':1024')).length === 2, {
        timeoutMs: 10_000,
        what: 'both workers serving generation 2',
      });
      const misses: string[] = [];
      for (let i = 0; i < EARLY + DURING; i++) {
        const hits = hitsOf((await search('nomic', textOf('nomic', i), 'vector')).body);
        const found = hits.filter((hit) => hit.documentId === `doc-${i}`).length;
        if (hits[0]?.documentId !== `doc-${i}` || found > 1) misses.push(`doc-${i}: ${hits.map((hit) => hit.documentId).join(' ')}`);
      }
      assert.deepEqual(misses, [], 'documents not found, or found twice, by vector search after the reindex');
    });

    it('reindexes through npm run reindex, which posts the reindex and follows its job to the swap', async () => {
      const script = await run('npm', ['run', '--silent', 'reindex', '--', '-c', 'large', 'builtin:256'], {
        API_URL: web.url,
        API_KEY: KEY,
        POLL_INTERVAL: '0.1',
      });
      assert.equal(script.code, 0, script.stderr);
      assert.match(script.stderr, /reindex of large as generation 2 with builtin:256/);
      assert.equal((JSON.parse(script.stdout) as { status: string; embedder: string }).embedder, 'builtin-hash-v1:256');
      assert.deepEqual(await embeddingDimensions(db, 'large'), [256]);
      await waitFor(async () => (await collectionWorkers('large')).filter((w) => w.generation === 2 && w.status === 'ready').length === 2, {
        timeoutMs: 10_000,
        what: 'both workers serving large at 256 dimensions',
      });
      for (let i = 0; i < EARLY; i++) assert.equal(hitsOf((await search('large', textOf('large', i), 'vector')).body)[0]?.documentId, `doc-${i}`);
      const refused = await run('bash', ['scripts/reindex.sh', '-c', 'large', 'word2vec'], { API_URL: web.url, API_KEY: KEY });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /embedder/);
    });
  });
}

/** The distinct vector lengths of a collection's chunks (float32: 4 bytes each). */
async function embeddingDimensions(db: Knex, collection: string): Promise<number[]> {
  const length = 'octet_length(embedding)'; // SQLite (3.43+) and Postgres alike
  const rows: Array<{ bytes: number | string }> = await db('chunks')
    .where({ collection_id: collection })
    .distinct(db.raw(`${length} as bytes`));
  return rows.map((row) => Number(row.bytes) / 4).sort((a, b) => a - b);
}

async function assertEveryDocumentOnce(db: Knex, collection: string, count: number): Promise<void> {
  const docs: Array<{ status: string; n: number | string }> = await db('documents')
    .where({ collection_id: collection })
    .select('status')
    .count({ n: '*' })
    .groupBy('status');
  assert.deepEqual(
    docs.map((d) => [d.status, Number(d.n)]),
    [['ready', count]],
  );
  const perDocument: Array<{ n: number | string }> = await db('chunks')
    .where({ collection_id: collection })
    .select('document_id')
    .count({ n: '*' })
    .groupBy('document_id');
  assert.equal(perDocument.length, count, 'every document has chunks');
  assert.ok(
    perDocument.every((row) => Number(row.n) === 1),
    'exactly one chunk per (short) document',
  );
  const generations: Array<{ generation: number }> = await db('chunks').where({ collection_id: collection }).distinct('generation');
  assert.deepEqual(
    generations.map((g) => Number(g.generation)),
    [2],
  );
  const staged = (await db('generation_embeddings').count({ n: '*' }).first()) as { n: number | string };
  assert.equal(Number(staged.n), 0, 'no staged vectors are left after the swap');
}
