/**
 * A poison job: a document whose ingest kills its worker (the test-only crash switch
 * COLMEIA_TEST_ABORT_MARKER makes it call process.abort()). Bee-Queue would re-queue it forever; our
 * attempt counter must end it `failed`, with a reason, after JOB_ATTEMPTS crashes, while two
 * supervised workers (restarted after each crash, as a platform does) keep the other documents
 * flowing. Then the fix ships (workers without the switch) and POST /jobs/ingest/:id/retry ends the
 * document ready. Figures: crashes caused by the one job, time to fail it, other documents lost and
 * their latency and throughput against a baseline run without the poison.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startWeb, startWorker, tempDataDir, type Env, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { ApiClient, documentText, percentile, reportFigure, SupervisedWorker, waitForSettled, type DocumentView } from './jobs-harness.js';

const KEY = `poison-e2e-${randomUUID()}`;
const MARKER = `POISON-${randomUUID()}`;
const JOB_ATTEMPTS = 3;
const RATE_PER_S = 15; // offered load of normal documents, well below capacity
const BASELINE_DOCS = 30;

describe('a poison job that kills its worker every time', () => {
  let redis: RedisServerHandle;
  let web: WebProcess;
  let env: Env;
  let client: ApiClient;
  const supervised: SupervisedWorker[] = [];
  const plain: ServiceProcess[] = [];

  before(async () => {
    redis = await startRedisServer();
    env = {
      REDIS_URL: redis.url,
      DATA_DIR: tempDataDir(),
      QUEUE_PREFIX: `poison-${randomUUID()}`,
      API_KEYS: KEY,
      JOB_ATTEMPTS: String(JOB_ATTEMPTS),
      JOB_BACKOFF_MS: '200',
      STALL_INTERVAL_MS: '1000',
      HEARTBEAT_INTERVAL_MS: '500',
      SWEEP_MIN_AGE_MS: '600000', // the attempt counter, not the sweep, must end the job
      RATE_LIMIT_MAX: '100000',
    };
    web = await startWeb(env);
    client = new ApiClient(() => web.url, KEY);
    const workerEnv = { ...env, COLMEIA_TEST_ABORT_MARKER: MARKER };
    supervised.push(new SupervisedWorker('worker-a', workerEnv), new SupervisedWorker('worker-b', workerEnv));
    await Promise.all([web.waitForHttp(web.url), ...supervised.map((w) => w.start())]);
  });

  after(async () => {
    await Promise.allSettled([web?.close(), ...supervised.map((w) => w.stop()), ...plain.map((w) => w.close())]);
    await redis?.close();
  });

  it('fails the document with a reason after JOB_ATTEMPTS crashes while other documents keep flowing, and retries it once fixed', async (t) => {
    const baseline = await offerLoad(client, 'base', { count: BASELINE_DOCS });
    assert.equal(baseline.lost, 0);

    const poisonId = `poison-${randomUUID()}`;
    const started = Date.now();
    const poison = await client.postDocument(poisonId, `${documentText('poison', 3_000)} ${MARKER}`);
    let poisonDoc: DocumentView | undefined;
    const during = await offerLoad(client, 'during', {
      count: BASELINE_DOCS,
      until: async () => {
        poisonDoc = await client.document(poisonId);
        return poisonDoc?.status === 'failed';
      },
    });
    const timeToFailMs = Date.now() - started;
    poisonDoc = await client.document(poisonId);
    const crashes = supervised.flatMap((w) => w.crashes);

    assert.equal(poisonDoc?.status, 'failed', JSON.stringify(poisonDoc));
    assert.match(poisonDoc?.error ?? '', new RegExp(`gave up after ${JOB_ATTEMPTS} attempts`));
    assert.equal(crashes.length, JOB_ATTEMPTS, `crashes: ${JSON.stringify(crashes)}`);
    assert.ok(
      crashes.every((c) => c.signal === 'SIGABRT'),
      JSON.stringify(crashes),
    );
    assert.equal(during.lost, 0);
    const job = await client.job('ingest', poison.job.id);
    assert.equal(job.status, 'failed');
    assert.equal(job.attempts, JOB_ATTEMPTS);
    assert.match(job.error?.message ?? '', /gave up/);
    const innocentStalls = supervised
      .flatMap((w) => w.history.flatMap((proc) => proc.lines))
      .filter((line) => line.includes('stalled job re-queued') && !line.includes(poison.job.id)).length;
    reportFigure(t, 'poison_job', { crashes: crashes.length, attempts_limit: JOB_ATTEMPTS, status: poisonDoc?.status ?? '?', time_to_fail_ms: timeToFailMs });
    reportFigure(t, 'poison_other_jobs', {
      posted: during.posted,
      lost: during.lost,
      latency_p50_ms: during.p50,
      latency_p95_ms: during.p95,
      baseline_p50_ms: baseline.p50,
      baseline_p95_ms: baseline.p95,
      throughput_ratio: during.perSecond / baseline.perSecond,
      innocent_stalls: innocentStalls,
    });

    // The fix ships: workers without the crash switch; the failed job is retried under its id.
    await Promise.all(supervised.map((w) => w.stop()));
    plain.push(await startWorker(env));
    await plain[0]?.waitForLine(/worker ready/, 20_000);
    const retried = await client.post(`/jobs/ingest/${encodeURIComponent(poison.job.id)}/retry`);
    assert.equal(retried.status, 202, retried.text);
    const settled = await waitForSettled(client, [poisonId], 20_000);
    assert.equal(settled.get(poisonId)?.status, 'ready', JSON.stringify(settled.get(poisonId)));
    const after = await client.job('ingest', poison.job.id);
    assert.equal(after.status, 'succeeded', JSON.stringify(after));
  });
});

interface LoadResult {
  posted: number;
  lost: number;
  p50: number;
  p95: number;
  perSecond: number; // documents ready per second, from the first post to the last ready
}

/** Posts small documents at RATE_PER_S (at least `count`, and on until `until` holds), then waits for all. */
async function offerLoad(client: ApiClient, tag: string, options: { count: number; until?: () => Promise<boolean> }): Promise<LoadResult> {
  const postedAt = new Map<string, number>();
  const readyAt = new Map<string, number>();
  const firstPost = Date.now();
  const deadline = firstPost + 60_000;
  for (let i = 0; i < options.count || (options.until !== undefined && !(await options.until())); i++) {
    assert.ok(Date.now() < deadline, `${tag}: the load ran for 60 s`);
    const id = `${tag}-${i}`;
    await client.postDocument(id, documentText(id, 2_000));
    postedAt.set(id, Date.now());
    await delay(Math.max(0, firstPost + ((i + 1) * 1000) / RATE_PER_S - Date.now()));
    for (const [doc] of postedAt) if (!readyAt.has(doc) && (await client.document(doc))?.status === 'ready') readyAt.set(doc, Date.now());
  }
  const ids = [...postedAt.keys()];
  const settled = await waitForSettled(client, ids, 30_000, 20);
  for (const id of ids) if (!readyAt.has(id) && settled.get(id)?.status === 'ready') readyAt.set(id, Date.now());
  const latencies = ids.flatMap((id) => (readyAt.has(id) ? [(readyAt.get(id) ?? 0) - (postedAt.get(id) ?? 0)] : []));
  const lastReady = Math.max(...readyAt.values());
  return {
    posted: ids.length,
    lost: ids.filter((id) => settled.get(id)?.status !== 'ready').length,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    perSecond: (readyAt.size * 1000) / Math.max(1, lastReady - firstPost),
  };
}
