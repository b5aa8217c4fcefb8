/**
 * Redis failures against real processes: a private
 * redis-server with an append-only file is stopped and restarted, flushed (data and scripts gone, as
 * after a restart without persistence), paused with SIGSTOP, and the worker's connections are made
 * half-open by a proxy. The web must answer 503 within about a second and keep the document row; the
 * worker must resume by itself; the sweep must finish every accepted document, also those whose job
 * hashes were evicted. Figures: 503 latency
 * during the outage, time to resume, documents lost, sweep time, half-open detection time.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { sendInlineCommand, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startWeb, startWorker, tempDataDir, type Env, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient, documentText, percentile, reportFigure, retryUntilAccepted, waitForSettled, type Reply } from './jobs-harness.js';

const KEY = `outage-e2e-${randomUUID()}`;
const DOWN_503_MS = 1_000; // Redis refuses connections: the web knows it, answers at once (the rate limiter's Redis call is bounded)
// Redis frozen (connections up, no answers): the 1 s enqueue timeout, after the rate limiter's two
// bounded Redis calls (250 ms each: rate-limit-redis retries any failed increment once).
const FROZEN_503_MS = 2_000;
const OUTAGE_MS = 3_000;
const OUTAGE_RATE_PER_S = 20;

describe('Redis outages', () => {
  let redis: RedisServerHandle;
  let proxy: TcpProxy;
  let web: WebProcess;
  let worker: ServiceProcess;
  let env: Env;
  let workerEnv: Env;
  let client: ApiClient;

  before(async () => {
    redis = await startRedisServer({ appendOnly: true });
    proxy = await startTcpProxy(redis.port);
    env = {
      REDIS_URL: redis.url,
      DATA_DIR: tempDataDir(),
      QUEUE_PREFIX: `outage-${randomUUID()}`,
      API_KEYS: KEY,
      STALL_INTERVAL_MS: '1000',
      SWEEP_INTERVAL_MS: '1000',
      SWEEP_MIN_AGE_MS: '1000',
      WATCHDOG_INTERVAL_MS: '1000',
      HEARTBEAT_INTERVAL_MS: '500',
      REDIS_KEEPALIVE_MS: '1000',
      SEARCH_TIMEOUT_MS: '1000',
      RATE_LIMIT_MAX: '100000',
    };
    workerEnv = { ...env, REDIS_URL: proxy.url }; // the worker reaches Redis through the proxy, the web directly
    web = await startWeb(env);
    worker = await startWorker(workerEnv);
    await Promise.all([web.waitForHttp(web.url), worker.waitForLine(/worker ready/, 20_000)]);
    client = new ApiClient(() => web.url, KEY);
  });

  after(async () => {
    await Promise.allSettled([web?.close(), worker?.close()]);
    await proxy?.close();
    await redis?.close();
  });

  it('answers 503 fast while Redis is down, keeps the rows, and finishes everything once Redis is back', async (t) => {
    await settleAll(client, ['warm-0', 'warm-1']);
    await redis.stop();
    const downAt = Date.now();
    // Ingest traffic goes on through the outage: OUTAGE_RATE_PER_S posts for OUTAGE_MS.
    const documentReplies: Reply[] = [];
    const outageIds: string[] = [];
    for (let i = 0; Date.now() - downAt < OUTAGE_MS; i++) {
      const id = `outage-${i}`;
      outageIds.push(id);
      documentReplies.push(await client.post('/documents', { id, text: documentText(id, 3_000) }));
      await delay(Math.max(0, downAt + ((i + 1) * 1000) / OUTAGE_RATE_PER_S - Date.now()));
    }
    const searchReplies: Reply[] = [];
    for (let i = 0; i < 3; i++) searchReplies.push(await client.post('/search', { query: 'lorem ipsum' }));
    const latencies = JSON.stringify({ documents: documentReplies.map((r) => Math.round(r.ms)), search: searchReplies.map((r) => Math.round(r.ms)) });
    for (const reply of [...documentReplies, ...searchReplies]) {
      assert.equal(reply.status, 503, reply.text);
      assert.equal((reply.body as { error: { code: string } }).error.code, 'upstream_unavailable');
      assert.ok(reply.ms < DOWN_503_MS, `503 after ${Math.round(reply.ms)} ms: ${latencies}`);
    }
    for (const id of outageIds) assert.equal((await client.document(id))?.status, 'pending', `${id}: the row is kept`);
    assert.equal((await client.get('/health')).status, 200);
    assert.equal((await client.get('/ready')).status, 503);
    await waitFor(() => worker.lines.some((line) => line.includes('queue connection lost')), { timeoutMs: 10_000, what: 'the worker to notice' });

    await redis.restart();
    const upAt = Date.now();
    const accepted = await retryUntilAccepted(client, 'after-restart-0', 10_000);
    const webAcceptsMs = Date.now() - upAt;
    await settleAll(client, ['after-restart-0'], false);
    const resumeMs = Date.now() - upAt;
    const settled = await waitForSettled(client, outageIds, 30_000);
    const sweepMs = Date.now() - upAt;
    const lost = outageIds.filter((id) => settled.get(id)?.status !== 'ready');
    assert.deepEqual(lost, []);
    assert.equal(accepted.status, 202);
    const docMs = documentReplies.map((r) => r.ms);
    const searchMs = searchReplies.map((r) => r.ms);
    reportFigure(t, 'redis_down_503_ms', {
      documents_n: docMs.length,
      documents_p50: percentile(docMs, 50),
      documents_p99: percentile(docMs, 99),
      documents_max: Math.max(...docMs),
      search_p50: percentile(searchMs, 50),
      search_max: Math.max(...searchMs),
      outage_ms: upAt - downAt,
    });
    reportFigure(t, 'redis_restart_resume_ms', {
      web_accepts: webAcceptsMs,
      new_document_ready: resumeMs,
      outage_documents_ready: sweepMs,
      lost: `${lost.length}/${outageIds.length}`,
    });
  });

  it('loses no document when Redis forgets everything (FLUSHALL and SCRIPT FLUSH) with 20 waiting', async (t) => {
    await worker.stop('SIGTERM');
    const ids = Array.from({ length: 20 }, (_, i) => `flushed-${i}`);
    for (const id of ids) await client.postDocument(id, documentText(id, 2_000));
    assert.equal(await sendInlineCommand(redis.port, 'FLUSHALL'), '+OK');
    assert.equal(await sendInlineCommand(redis.port, 'SCRIPT FLUSH'), '+OK'); // as after a restart without persistence
    const extra = await client.post('/documents', { id: 'flushed-extra', text: documentText('flushed-extra', 2_000) });
    assert.equal(extra.status, 202, `enqueue right after SCRIPT FLUSH reloads the scripts: ${extra.text}`);
    // No worker: searches wait in the queue past their deadline, and their clients get a 504 (R7).
    const searches = await Promise.all(Array.from({ length: 3 }, () => client.post('/search', { query: 'lorem' })));
    assert.deepEqual(
      searches.map((r) => r.status),
      [504, 504, 504],
    );
    const startedAt = Date.now();
    worker = await startWorker(workerEnv);
    await worker.waitForLine(/worker ready/, 20_000);
    const settled = await waitForSettled(client, [...ids, 'flushed-extra'], 30_000);
    const lost = ids.filter((id) => settled.get(id)?.status !== 'ready');
    assert.deepEqual(lost, []);
    const expired = () => worker.lines.filter((line) => line.includes('search expired before a worker took it')).length;
    await waitFor(() => expired() === searches.length, { timeoutMs: 5_000, what: 'the stale searches to be dropped' });
    reportFigure(t, 'redis_flushall_sweep', { lost: `${lost.length}/${ids.length}`, worker_start_to_all_ready_ms: Date.now() - startedAt });
    reportFigure(t, 'stale_searches', { queued_past_deadline: searches.length, dropped_unexecuted: expired(), executed: searches.length - expired() });
  });

  it('finishes the documents whose job hashes Redis evicted (Bee-Queue skips such jobs silently)', async (t) => {
    await worker.stop('SIGTERM');
    const ids = Array.from({ length: 5 }, (_, i) => `evicted-${i}`);
    for (const id of ids) await client.postDocument(id, documentText(id, 2_000));
    // What allkeys-lru does under memory pressure: the whole hash of job data goes, the waiting list stays.
    assert.equal(await sendInlineCommand(redis.port, `DEL ${env.QUEUE_PREFIX ?? ''}:ingest:jobs`), ':1');
    const startedAt = Date.now();
    worker = await startWorker(workerEnv);
    await worker.waitForLine(/worker ready/, 20_000);
    const settled = await waitForSettled(client, ids, 30_000);
    const lost = ids.filter((id) => settled.get(id)?.status !== 'ready');
    assert.deepEqual(lost, []);
    reportFigure(t, 'redis_evicted_job_hashes', { lost: `${lost.length}/${ids.length}`, worker_start_to_all_ready_ms: Date.now() - startedAt });
  });

  it('answers 503 fast while Redis is frozen (SIGSTOP) and resumes after SIGCONT', async (t) => {
    await settleAll(client, ['before-pause']);
    process.kill(redis.pid, 'SIGSTOP');
    let frozen: Reply;
    try {
      frozen = await client.post('/documents', { id: 'during-pause', text: documentText('during-pause', 2_000) });
      // Long enough for the watchdogs to declare the connections silent (two 1 s pings) and reopen them.
      await waitFor(() => worker.lines.some((line) => line.includes('queue connection stuck')), { timeoutMs: 15_000, what: 'the worker watchdog to act' });
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    const resumedAt = Date.now();
    assert.equal(frozen.status, 503, frozen.text);
    assert.ok(frozen.ms < FROZEN_503_MS, `503 after ${Math.round(frozen.ms)} ms`);
    assert.equal((await client.document('during-pause'))?.status, 'pending');
    await settleAll(client, ['after-pause']);
    const settled = await waitForSettled(client, ['during-pause'], 20_000);
    assert.equal(settled.get('during-pause')?.status, 'ready');
    reportFigure(t, 'redis_paused', { post_503_ms: frozen.ms, sigcont_to_all_ready_ms: Date.now() - resumedAt });
  });

  it('reopens half-open connections: the worker resumes without a restart', async (t) => {
    await settleAll(client, ['before-half-open']);
    const connections = proxy.blackholeExisting();
    assert.ok(connections >= 3, `the worker's connections go through the proxy (${connections})`);
    const cutAt = Date.now();
    const ids = ['half-open-0', 'half-open-1', 'half-open-2'];
    for (const id of ids) await client.postDocument(id, documentText(id, 2_000));
    const settled = await waitForSettled(client, ids, 30_000);
    assert.deepEqual(
      ids.filter((id) => settled.get(id)?.status !== 'ready'),
      [],
    );
    const readyMs = Date.now() - cutAt;
    assert.ok(worker.exitStatus === undefined, 'the same worker process did it');
    assert.ok(
      worker.lines.some((line) => line.includes('queue connection stuck')),
      worker.tail(),
    );
    reportFigure(t, 'redis_half_open', { blackholed_connections: connections, cut_to_ready_ms: readyMs, lost: `0/${ids.length}` });
  });
});

/** Posts the documents (unless already posted) and waits for them to be ready. */
async function settleAll(client: ApiClient, ids: string[], post = true): Promise<void> {
  if (post) for (const id of ids) await client.postDocument(id, documentText(id, 2_000));
  const settled = await waitForSettled(client, ids, 20_000);
  for (const id of ids) assert.equal(settled.get(id)?.status, 'ready', `${id}: ${JSON.stringify(settled.get(id))}`);
}
