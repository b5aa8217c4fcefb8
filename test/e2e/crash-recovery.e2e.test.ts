/**
 * A worker killed with -9 in the middle of a large ingest. Two workers share a
 * private redis-server and a SQLite file; the one that took the job is killed at a chosen point of
 * its embedding progress, and the other must find the job stalled (its periodic checkStalledJobs)
 * and run it again, which replaces the document's chunks: the result is correct exactly once.
 * Figures: jobs lost, duplicate chunk rows, index divergence, and kill -9 → re-queued → ready times.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startWeb, startWorker, tempDataDir, type Env, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient, chunkCount, documentText, duplicateChunkRows, openSqlite, percentile, reportFigure, waitForSettled, type JobView } from './jobs-harness.js';

const KEY = `crash-e2e-${randomUUID()}`;
const REPETITIONS = 5; // 5 keep CI within its time budget; raise it for a longer fault run
const KILL_AT = [0.2, 0.35, 0.5, 0.65, 0.8]; // fraction of chunks embedded when the kill lands
const STALL_INTERVAL_MS = 1_000;
const DOC_CHARS = 100_000; // ~550 chunks of 200 characters

describe('a worker killed with -9 mid-ingest', () => {
  let redis: RedisServerHandle;
  let web: WebProcess;
  let env: Env;
  let dataDir: string;
  let db: Knex;
  const workers: ServiceProcess[] = [];
  let client: ApiClient;

  before(async () => {
    redis = await startRedisServer({ appendOnly: true });
    dataDir = tempDataDir();
    env = {
      REDIS_URL: redis.url,
      DATA_DIR: dataDir,
      QUEUE_PREFIX: `crash-${randomUUID()}`,
      API_KEYS: KEY,
      STALL_INTERVAL_MS: String(STALL_INTERVAL_MS),
      CHUNK_SIZE: '200',
      CHUNK_OVERLAP: '20',
      EMBED_BATCH_SIZE: '8',
      INGEST_CONCURRENCY: '1',
      HEARTBEAT_INTERVAL_MS: '500',
      SWEEP_MIN_AGE_MS: '600000', // recovery must come from stall detection, not from the sweep
      RATE_LIMIT_MAX: '100000',
    };
    web = await startWeb(env);
    workers.push(await startWorker({ ...env, LOG_LEVEL: 'debug' }), await startWorker({ ...env, LOG_LEVEL: 'debug' }));
    await Promise.all([web.waitForHttp(web.url), ...workers.map((w) => w.waitForLine(/worker ready/, 20_000))]);
    client = new ApiClient(() => web.url, KEY);
    db = openSqlite(dataDir);
  });

  after(async () => {
    await db?.destroy();
    await Promise.allSettled([web?.close(), ...workers.map((w) => w.close())]);
    await redis?.close();
  });

  it('re-runs the job on the other worker and ends ready with one set of chunks, every time', async (t) => {
    const killToReady: number[] = [];
    const killToRequeue: number[] = [];
    const ids: string[] = [];
    let missed = 0;
    for (let rep = 0; ids.length < REPETITIONS; rep++) {
      assert.ok(rep < REPETITIONS + 3, `the kill missed the ingest too often (${missed} times)`);
      const id = `crash-${rep}`;
      const fraction = KILL_AT[ids.length] ?? 0.5;
      const { job } = await client.postDocument(id, documentText(id, DOC_CHARS));
      const owner = await ownerOf(workers, job.id);
      const progress = await waitForProgress(client, job.id, fraction);
      if (progress === 'finished') {
        missed += 1; // the ingest ended before the kill point: try again with a new document
        continue;
      }
      const killedAt = Date.now();
      const index = workers.indexOf(owner);
      await owner.kill();
      const survivor = workers[1 - index];
      assert.ok(survivor);
      const requeued = waitFor(() => survivor.lines.some((line) => line.includes('stalled job re-queued') && line.includes(job.id)), {
        timeoutMs: 15_000,
        intervalMs: 10,
        what: `the survivor to re-queue ${job.id}`,
      }).then(() => killToRequeue.push(Date.now() - killedAt));
      const [settled] = await Promise.all([waitForSettled(client, [id], 30_000, 25), requeued]);
      killToReady.push(Date.now() - killedAt);
      assert.equal(settled.get(id)?.status, 'ready', `document ${id} after the kill: ${JSON.stringify(settled.get(id))}`);
      ids.push(id);
      workers[index] = await startWorker({ ...env, LOG_LEVEL: 'debug' }); // the platform restarts the killed worker
      await workers[index].waitForLine(/worker ready/, 20_000);
    }

    const docs = await waitForSettled(client, ids, 10_000);
    const lost = ids.filter((id) => docs.get(id)?.status !== 'ready');
    const expected = docs.get(ids[0] ?? '')?.chunkCount ?? 0;
    assert.ok(expected > 400, `a large document: ${expected} chunks`);
    for (const id of ids) {
      assert.equal(docs.get(id)?.chunkCount, expected, `${id}: chunk count`);
      assert.equal(await chunkCount(db, id), expected, `${id}: chunk rows in SQL`);
    }
    const duplicates = await duplicateChunkRows(db);
    const divergence = await indexDivergence(client, await chunkCount(db));
    assert.deepEqual(lost, []);
    assert.equal(duplicates, 0);
    assert.equal(divergence, 0);
    reportFigure(t, 'crash_recovery', {
      lost: `${lost.length}/${ids.length}`,
      duplicate_chunk_rows: duplicates,
      index_divergence: divergence,
      missed_kills: missed,
      chunks_per_doc: expected,
    });
    reportFigure(t, 'kill9_to_requeue_ms', {
      p50: percentile(killToRequeue, 50),
      p95: percentile(killToRequeue, 95),
      max: Math.max(...killToRequeue),
      n: killToRequeue.length,
    });
    reportFigure(t, 'kill9_to_ready_ms', {
      p50: percentile(killToReady, 50),
      p95: percentile(killToReady, 95),
      max: Math.max(...killToReady),
      n: killToReady.length,
    });
  });
});

/** The worker whose log says it started the job (LOG_LEVEL=debug prints "job started"). */
async function ownerOf(workers: ServiceProcess[], jobId: string): Promise<ServiceProcess> {
  let owner: ServiceProcess | undefined;
  await waitFor(
    () => {
      owner = workers.find((w) => w.lines.some((line) => line.includes('job started') && line.includes(jobId)));
      return owner !== undefined;
    },
    { timeoutMs: 10_000, intervalMs: 5, what: `a worker to start ${jobId}` },
  );
  assert.ok(owner);
  return owner;
}

/** Resolves once the job has embedded `fraction` of its chunks, or 'finished' if it ended first. */
async function waitForProgress(client: ApiClient, jobId: string, fraction: number): Promise<JobView | 'finished'> {
  let outcome: JobView | 'finished' | undefined;
  await waitFor(
    async () => {
      const job = await client.job('ingest', jobId);
      if (job.status === 'succeeded' || job.status === 'failed') outcome = 'finished';
      else if (job.progressDetail && job.progressDetail.done >= fraction * job.progressDetail.total) outcome = job;
      return outcome !== undefined;
    },
    { timeoutMs: 20_000, intervalMs: 5, what: `${jobId} to reach ${fraction * 100}% progress` },
  );
  assert.ok(outcome);
  return outcome;
}

/** |index size - chunk rows| summed over live workers, once every worker has reported after the last change. */
async function indexDivergence(client: ApiClient, chunks: number): Promise<number> {
  let divergence = Number.NaN;
  await waitFor(
    async () => {
      const status = await client.get('/status');
      const workers = (status.body as { workers: Array<{ indexSize: number }> }).workers;
      divergence = workers.reduce((sum, w) => sum + Math.abs(w.indexSize - chunks), 0);
      return workers.length === 2 && divergence === 0;
    },
    { timeoutMs: 10_000, intervalMs: 100, what: `both workers' index size to equal ${chunks} chunk rows` },
  ).catch(() => undefined); // reported, then asserted by the caller
  return divergence;
}
