/**
 * A poison job: a document whose ingest kills its worker (the test-only crash switch
 * COLMEIA_TEST_ABORT_MARKER makes it call process.abort()). Bee-Queue would re-queue it forever; our
 * attempt counter must end it `failed`, with a reason, after JOB_ATTEMPTS crashes, while two
 * supervised workers (restarted after each crash, as a platform does) keep the other documents
 * flowing. Then the fix ships (workers without the switch) and POST /jobs/ingest/:id/retry ends the
 * document ready. Figures: crashes caused by the one job, time to fail it, other documents lost and
 * their latency and throughput against a baseline run without the poison. Then the poison document
 * comes in a batch: the batch's retry splits it into one ingest job per document, and only the
 * poison document ends failed. Last, the poison document and innocent ones run at once in one worker:
 * a job that ran before runs alone, so the innocent ones end ready after at most one lost attempt.
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

  it('splits a batch whose attempt crashed into one ingest job per document, so only the poison document fails', async (t) => {
    // The crash switch again, at the default INGEST_CONCURRENCY: the split batch's jobs run at once,
    // and a job that ran before runs alone, so each document's fate is its own job's.
    await Promise.all([...plain.splice(0).map((w) => w.close()), ...supervised.map((w) => w.stop())]);
    const crashesBefore = supervised.reduce((n, w) => n + w.crashes.length, 0);
    await Promise.all(supervised.map((w) => w.start({ ...env, COLMEIA_TEST_ABORT_MARKER: MARKER, STALL_INTERVAL_MS: '500' })));

    const tag = `batch-${randomUUID().slice(0, 8)}`;
    const poisonId = `${tag}-poison`;
    const normalIds = [0, 1, 2].map((i) => `${tag}-${i}`);
    const documents = [
      { id: normalIds[0], text: documentText(`${tag}a`, 1_500) },
      { id: poisonId, text: `${documentText(`${tag}p`, 1_500)} ${MARKER}` },
      { id: normalIds[1], text: documentText(`${tag}b`, 1_500) },
      { id: normalIds[2], text: documentText(`${tag}c`, 1_500) },
    ];
    const idempotency = { 'Idempotency-Key': `${tag}-key` };
    const started = Date.now();
    const posted = await client.request('POST', '/documents/batch', { documents }, idempotency);
    assert.equal(posted.status, 202, posted.text);
    const batchJob = (posted.body as { documents: Array<{ job: { queue: string; id: string } }> }).documents[0]?.job;
    assert.equal(batchJob?.queue, 'ingest-batch');

    const settled = await waitForSettled(client, [...normalIds, poisonId], 30_000);
    for (const id of normalIds) assert.equal(settled.get(id)?.status, 'ready', `${id}: ${JSON.stringify(settled.get(id))}`);
    assert.equal(settled.get(poisonId)?.status, 'failed', JSON.stringify(settled.get(poisonId)));
    assert.match(settled.get(poisonId)?.error ?? '', new RegExp(`gave up after ${JOB_ATTEMPTS} attempts`));
    const crashes = supervised.reduce((n, w) => n + w.crashes.length, 0) - crashesBefore;
    assert.equal(crashes, 1 + JOB_ATTEMPTS, "the batch crashed once, then the poison document's own job JOB_ATTEMPTS times");

    const batch = await client.job('ingest-batch', batchJob.id);
    assert.equal(batch.status, 'succeeded', JSON.stringify(batch));
    assert.equal(batch.attempts, 2);
    const items = (batch.result as { documents: Array<{ documentId: string; status: string; job?: { queue: string; id: string } }> }).documents;
    assert.deepEqual(
      items.map((d) => [d.documentId, d.status, d.job?.queue]),
      documents.map((d) => [d.id, 'requeued', 'ingest']),
    );
    const poisonJob = items.find((d) => d.documentId === poisonId)?.job;
    assert.ok(poisonJob);
    const failed = await client.job('ingest', poisonJob.id);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.equal(failed.attempts, JOB_ATTEMPTS);

    // ?wait=true follows each requeued item to its ingest job (here on a replay of the same request).
    const waited = await client.request('POST', '/documents/batch?wait=true&timeoutMs=5000', { documents }, idempotency);
    assert.equal(waited.status, 200, waited.text);
    const states = (waited.body as { documents: Array<{ id: string; state?: string; jobError?: { code: string } }> }).documents;
    assert.deepEqual(
      states.map((d) => [d.id, d.state, d.jobError?.code]),
      documents.map((d) => (d.id === poisonId ? [d.id, 'failed', 'gave_up'] : [d.id, 'searchable', undefined])),
    );
    reportFigure(t, 'poison_batch', { documents: documents.length, crashes, time_to_settle_ms: Date.now() - started });
  });

  it('runs a job whose worker died again alone, so the jobs that died beside the poison one use no more of their attempts', async (t) => {
    // One worker, many ingest jobs at once (the default INGEST_CONCURRENCY): the innocent jobs in
    // flight die with the poison one, and after each restart all of them are delivered again together.
    await Promise.all(supervised.map((w) => w.stop()));
    const [only] = supervised;
    assert.ok(only);
    const crashesBefore = only.crashes.length;
    await only.start({ ...env, COLMEIA_TEST_ABORT_MARKER: MARKER, STALL_INTERVAL_MS: '500' });

    const tag = `alone-${randomUUID().slice(0, 8)}`;
    const innocentIds = [0, 1, 2, 3, 4, 5].map((i) => `${tag}-${i}`);
    const poisonId = `${tag}-poison`;
    const started = Date.now();
    // An Idempotency-Key makes each write its own transaction and its own ingest job.
    const post = (id: string, text: string) => client.request('POST', '/documents', { id, text }, { 'Idempotency-Key': `${id}-key` });
    const replies = await Promise.all([
      ...innocentIds.map((id) => post(id, documentText(id, 20_000))),
      post(poisonId, `${documentText(poisonId, 1_500)} ${MARKER}`),
    ]);
    for (const reply of replies) assert.equal(reply.status, 202, reply.text);

    const settled = await waitForSettled(client, [...innocentIds, poisonId], 60_000);
    assert.equal(settled.get(poisonId)?.status, 'failed', JSON.stringify(settled.get(poisonId)));
    assert.match(settled.get(poisonId)?.error ?? '', new RegExp(`gave up after ${JOB_ATTEMPTS} attempts`));
    for (const id of innocentIds) assert.equal(settled.get(id)?.status, 'ready', `${id}: ${JSON.stringify(settled.get(id))}`);
    const crashes = only.crashes.length - crashesBefore;
    assert.equal(crashes, JOB_ATTEMPTS, 'only the poison job crashed the worker, once per attempt of its own');
    const innocentJobs = replies.slice(0, innocentIds.length).map((reply) => (reply.body as { job: { id: string } }).job.id);
    const attempts = await Promise.all(innocentJobs.map(async (id) => (await client.job('ingest', id)).attempts));
    assert.ok(
      attempts.every((n) => n <= 2),
      `an innocent job loses at most the attempt it ran beside the poison one: ${attempts.join(', ')}`,
    );
    const waitedAlone = only.history.flatMap((proc) => proc.lines).filter((line) => line.includes('waits to run alone')).length;
    assert.ok(waitedAlone > 0, 'the jobs delivered again waited for a turn alone');
    reportFigure(t, 'poison_alone', {
      crashes,
      innocent_attempts_max: Math.max(...attempts),
      waited_alone: waitedAlone,
      time_to_settle_ms: Date.now() - started,
    });
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
