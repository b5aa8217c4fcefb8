/**
 * What an operator sees (jobs-and-operations items 1, 6, 7): GET /jobs with progress, attempts and the
 * stored outcome; POST /jobs/:queue/:id/retry refusing what it must; GET /metrics in Prometheus text
 * format with HTTP, queue, document and per-worker numbers (workers report through their heartbeat);
 * the Arena dashboard at /admin/queues behind the API key, whose pages render without taking the web
 * process down. Built web and worker processes, a private redis-server.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sendInlineCommand, type RedisServerHandle } from '../support/redis-server.js';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import type { WebProcess } from '../support/service-processes.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient, documentText, reportFigure, waitForSettled } from './jobs-harness.js';

const KEY = `observability-e2e-${randomUUID()}`;
const SAMPLE_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/;

describe('jobs, metrics and the queue dashboard', () => {
  let stack: ServiceStack | undefined;
  let redis: RedisServerHandle;
  let web: WebProcess;
  let client: ApiClient;
  const ids = ['obs-0', 'obs-1', 'obs-2'];
  const jobs = new Map<string, string>();

  before(async () => {
    stack = await startServiceStack({ env: { API_KEYS: KEY, HEARTBEAT_INTERVAL_MS: '300', RATE_LIMIT_MAX: '100000' } });
    ({ redis, web } = stack);
    client = new ApiClient(() => web.url, KEY);
    for (const id of ids) jobs.set(id, (await client.postDocument(id, documentText(id, 6_000))).job.id);
    await waitForSettled(client, ids, 20_000);
  });

  after(async () => {
    await stack?.close();
  });

  it('reports a finished ingest job with its outcome, progress and attempts', async () => {
    const job = await client.job('ingest', jobs.get('obs-0') ?? '');
    assert.equal(job.status, 'succeeded');
    assert.equal(job.progress, 100);
    assert.ok(job.attempts >= 1, JSON.stringify(job));
    const doc = await client.document('obs-0');
    assert.deepEqual(job.result, { documentId: 'obs-0', revision: 1, status: 'ready', chunks: doc?.chunkCount, removedChunks: 0, seq: doc?.seq });
    assert.ok(typeof doc?.seq === 'number' && doc.seq > 0, 'the document names the seq of its commit');
    assert.equal((await client.get('/jobs/ingest/ingest:nobody:1')).status, 404);
  });

  it('retries only failed jobs', async () => {
    const finished = await client.post(`/jobs/ingest/${encodeURIComponent(jobs.get('obs-1') ?? '')}/retry`);
    assert.equal(finished.status, 409, finished.text);
    assert.match(finished.text, /only a failed job can be retried/);
    assert.equal((await client.post('/jobs/search/search:x/retry')).status, 409);
    assert.equal((await client.post('/jobs/remove/remove:nothing/retry')).status, 404);
    assert.equal((await client.post('/jobs/nowhere/x/retry')).status, 400);
  });

  it('serves Prometheus metrics with HTTP, queue, document and worker numbers, behind the key', async (t) => {
    assert.equal((await fetch(`${web.url}/metrics`)).status, 401);
    assert.equal((await client.post('/search', { query: 'lorem ipsum' })).status, 200);
    assert.equal((await client.get('/no/such/route')).status, 404);
    let text = '';
    let scrapeMs = 0;
    await waitFor(
      async () => {
        const reply = await client.get('/metrics');
        assert.equal(reply.status, 200);
        assert.match(reply.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        text = reply.text;
        scrapeMs = reply.ms;
        return (
          sample(text, 'colmeia_worker_jobs_total', { queue: 'ingest', outcome: 'succeeded' }) === ids.length &&
          sample(text, 'colmeia_worker_jobs_total', { queue: 'search', outcome: 'succeeded' }) === 1
        );
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'a heartbeat with the three ingests and the search' },
    );
    const chunks = (await Promise.all(ids.map((id) => client.document(id)))).reduce((sum, doc) => sum + (doc?.chunkCount ?? 0), 0);
    assert.ok(sample(text, 'colmeia_http_request_duration_seconds_count', { method: 'POST', route: '/documents', status: '202' }) >= ids.length);
    assert.equal(sample(text, 'colmeia_http_request_duration_seconds_count', { method: 'POST', route: '/search', status: '200' }), 1);
    assert.ok(sample(text, 'colmeia_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }) >= 1);
    assert.equal(sample(text, 'colmeia_queue_jobs', { queue: 'ingest', state: 'waiting' }), 0);
    assert.equal(sample(text, 'colmeia_documents', { status: 'ready' }), ids.length);
    assert.equal(sample(text, 'colmeia_workers', {}), 1);
    assert.equal(sample(text, 'colmeia_worker_index_size', {}), chunks);
    assert.equal(sample(text, 'colmeia_worker_applied_seq', {}), sample(text, 'colmeia_vector_log_seq', {}));
    assert.ok(sample(text, 'colmeia_worker_last_sync_seconds', {}) >= 0);
    assert.equal(sample(text, 'colmeia_worker_job_duration_seconds_count', { queue: 'ingest' }), ids.length);
    assert.equal(sample(text, 'colmeia_worker_job_duration_seconds_bucket', { queue: 'ingest', le: '+Inf' }), ids.length);
    assert.equal(sample(text, 'colmeia_worker_jobs_total', { queue: 'search', outcome: 'succeeded' }), 1);
    for (const source of ['queues', 'documents', 'seq', 'heartbeats']) assert.equal(sample(text, 'colmeia_metrics_source_up', { source }), 1);
    const bad = text.split('\n').filter((line) => line !== '' && !line.startsWith('#') && !SAMPLE_LINE.test(line));
    assert.deepEqual(bad, [], 'every sample line is valid exposition format');
    reportFigure(t, 'metrics_scrape', { ms: scrapeMs, bytes: text.length, samples: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length });
  });

  it('serves the Arena dashboard at /admin/queues behind the key, and its pages do not take the web down', async (t) => {
    const challenge = await fetch(`${web.url}/admin/queues`);
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers.get('www-authenticate') ?? '', /^Basic /, 'a browser is asked for the key');
    const basic = (password: string) => ({ headers: { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } });
    assert.equal((await fetch(`${web.url}/admin/queues`, basic(KEY))).status, 200, 'the key as the Basic password opens it');
    assert.equal((await fetch(`${web.url}/admin/queues`, basic('wrong-key'))).status, 401);
    assert.equal((await fetch(`${web.url}/documents`, basic(KEY))).status, 401, 'Basic auth is for the dashboard only');
    const pages: Array<[string, number]> = [
      ['/admin/queues', 200],
      ['/admin/queues/', 200],
      ['/admin/queues/colmeia/ingest', 200], // awaited client.info(): threw on node_redis before the fix
      ['/admin/queues/colmeia/ingest/failed', 200],
      [`/admin/queues/colmeia/ingest/${jobs.get('obs-0') ?? ''}`, 404], // succeeded jobs leave Redis; the outcome is in GET /jobs
    ];
    for (const [path, status] of pages) {
      const page = await client.get(path);
      assert.equal(page.status, status, `${path}: ${page.text.slice(0, 300)}`);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(page.text, /<title>Arena<\/title>/);
    }
    const waiting = await client.get('/admin/queues/colmeia/ingest/waiting.json');
    assert.equal(waiting.status, 200);
    assert.deepEqual(waiting.body, []);
    assert.equal((await client.get('/admin/queues/vendor/tablesort.min.js')).status, 200);
    assert.equal((await client.get('/health')).status, 200);
    assert.equal(web.exitStatus, undefined, 'the web process is still running');
    const clients = (await sendInlineCommand(redis.port, 'CLIENT LIST', 2_000)).split('\n').filter((line) => line.startsWith('id=')).length;
    reportFigure(t, 'redis_clients', { total: clients, web: 1, worker: 1, dashboard_queues_opened: 1 });
  });
});

/** The sum of the samples of `name` whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"/g)].map((m) => [m[1] ?? '', m[2]] as const));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) {
      sum += Number(match[3]);
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}
