/**
 * A Postgres outage against real processes: the built web and a worker run on a private cluster
 * (test/support/postgres-cluster.ts, never the machine's Postgres) and a private redis-server.
 * While the cluster is stopped (OUTAGE_MS of steady traffic), every route that needs the database
 * answers 503 upstream_unavailable at once, with Retry-After and a message that names the
 * dependency, never its address, port or the driver's text; both processes stay up. Once the cluster is back, the pools reconnect by themselves: every
 * document acknowledged before the outage is still ready and searchable, and new ones are accepted.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { findPostgresBin, startPostgresCluster, type PostgresClusterHandle } from '../support/postgres-cluster.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startWeb, startWorker, tempDataDir, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient, documentText, percentile, reportFigure, retryUntilAccepted, waitForSettled, type Reply } from './jobs-harness.js';

const KEY = `db-outage-e2e-${randomUUID()}`;
const POSTGRES_BIN = findPostgresBin();
const BEFORE_IDS = ['before-0', 'before-1', 'before-2'];
const OUTAGE_MS = 6_000; // traffic goes on for this long with Postgres down: long enough for pool and sweeper retries
const OUTAGE_INTERVAL_MS = 100;
const UNAVAILABLE_503_MS = 2_000; // a refused connection is known at once: no 503 should wait for a timeout

describe('Postgres outage', { skip: POSTGRES_BIN === undefined ? 'no initdb under /usr/lib/postgresql/*/bin: install postgresql to run it' : false }, () => {
  let cluster: PostgresClusterHandle;
  let redis: RedisServerHandle;
  let web: WebProcess;
  let worker: ServiceProcess;
  let client: ApiClient;

  before(async () => {
    [cluster, redis] = await Promise.all([startPostgresCluster(POSTGRES_BIN), startRedisServer()]);
    const env = {
      DATABASE_URL: cluster.url,
      REDIS_URL: redis.url,
      DATA_DIR: tempDataDir(),
      QUEUE_PREFIX: `db-outage-${randomUUID()}`,
      API_KEYS: KEY,
      SWEEP_INTERVAL_MS: '1000',
      SWEEP_MIN_AGE_MS: '1000',
      HEARTBEAT_INTERVAL_MS: '500',
      RATE_LIMIT_MAX: '100000',
    };
    web = await startWeb(env);
    await web.waitForHttp(web.url, 30_000); // the web migrates the fresh database first
    worker = await startWorker(env);
    await worker.waitForLine(/worker ready/, 30_000);
    client = new ApiClient(() => web.url, KEY);
  });

  after(async () => {
    await Promise.allSettled([web?.close(), worker?.close()]);
    await Promise.allSettled([cluster?.close(), redis?.close()]);
  });

  it('answers 503 upstream_unavailable with Retry-After while Postgres is down, and loses nothing', async (t) => {
    for (const id of BEFORE_IDS) await client.postDocument(id, documentText(id, 2_000));
    const settled = await waitForSettled(client, BEFORE_IDS, 30_000);
    for (const id of BEFORE_IDS) assert.equal(settled.get(id)?.status, 'ready', `${id}: ${JSON.stringify(settled.get(id))}`);
    await assertSearchable(client, BEFORE_IDS);

    await cluster.stop();
    const downAt = Date.now();
    const replies: Array<[string, Reply]> = [];
    for (let round = 0; round === 0 || Date.now() - downAt < OUTAGE_MS; round++) {
      replies.push(
        ['POST /documents', await client.post('/documents', { id: `during-outage-${round}`, text: documentText(`during-outage-${round}`, 1_000) })],
        ['GET /documents/:id', await client.get(`/documents/${BEFORE_IDS[0] ?? ''}`)],
        ['GET /documents', await client.get('/documents')],
        ['POST /search', await client.post('/search', { query: 'lorem ipsum' })],
        ['POST /chat/sessions', await client.post('/chat/sessions', {})],
      );
      await delay(OUTAGE_INTERVAL_MS);
    }
    for (const [route, reply] of replies) {
      assert.equal(reply.status, 503, `${route}: ${reply.text}`);
      const error = (reply.body as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'upstream_unavailable', `${route}: ${reply.text}`);
      assert.match(reply.headers.get('retry-after') ?? '', /^\d+$/, `${route}: Retry-After`);
      assertNamesNoAddress(route, reply.text, cluster.port);
      assert.ok(reply.ms < UNAVAILABLE_503_MS, `${route}: 503 after ${Math.round(reply.ms)} ms`);
    }
    const ready = await client.get('/ready');
    assert.equal(ready.status, 503, ready.text);
    assert.equal((ready.body as { checks: { database: string } }).checks.database, 'unavailable');
    assertNamesNoAddress('GET /ready', ready.text, cluster.port);
    assert.equal((await client.get('/health')).status, 200);
    // The worker's periodic database work fails too, and is survived.
    await waitFor(() => worker.lines.some((line) => line.includes('sweep failed')), { timeoutMs: 10_000, what: 'the worker to notice the outage' });
    assert.equal(web.exitStatus, undefined, `the web is still running\n${web.tail()}`);
    assert.equal(worker.exitStatus, undefined, `the worker is still running\n${worker.tail()}`);

    await cluster.start();
    const upAt = Date.now();
    const accepted = await retryUntilAccepted(client, 'after-outage', 20_000);
    const acceptMs = Date.now() - upAt;
    const after = await waitForSettled(client, [...BEFORE_IDS, 'after-outage'], 30_000);
    const lost = BEFORE_IDS.filter((id) => after.get(id)?.status !== 'ready');
    assert.deepEqual(lost, []);
    assert.equal(after.get('after-outage')?.status, 'ready', JSON.stringify(after.get('after-outage')));
    assert.equal(accepted.status, 202);
    await assertSearchable(client, [...BEFORE_IDS, 'after-outage']);
    assert.equal(web.exitStatus, undefined);
    assert.equal(worker.exitStatus, undefined);
    const latencies = replies.map(([, reply]) => reply.ms);
    reportFigure(t, 'postgres_outage', {
      outage_ms: upAt - downAt,
      requests_503: replies.length,
      latency_503_p50_ms: percentile(latencies, 50),
      latency_503_max_ms: Math.max(...latencies),
      restart_to_accepted_ms: acceptMs,
      restart_to_ready_ms: Date.now() - upAt,
      lost: `${lost.length}/${BEFORE_IDS.length}`,
    });
  });
});

/** A message for a client names no host, no port of the cluster and no errno. */
function assertNamesNoAddress(route: string, text: string, port: number): void {
  assert.doesNotMatch(text, /127\.0\.0\.1|localhost|ECONNREFUSED|ECONNRESET|Connection terminated/, `${route}: ${text}`);
  assert.ok(!text.includes(String(port)), `${route} names the cluster's port: ${text}`);
}

/** Each document is found by a search for its own opening words. */
async function assertSearchable(client: ApiClient, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const reply = await client.post('/search', { query: documentText(id, 200), k: 10 });
    assert.equal(reply.status, 200, `search for ${id}: ${reply.text}`);
    const found = (reply.body as { results: Array<{ documentId: string }> }).results.map((hit) => hit.documentId);
    assert.ok(found.includes(id), `${id} not among ${JSON.stringify(found)}`);
  }
}
