/**
 * What a 202 promises, with the worker stopped between the acknowledgement and the work, against
 * the real web and worker processes, on SQLite and (with TEST_DATABASE_URL) on Postgres:
 * - a removal removes what existed when it was acknowledged: a document posted again after a
 *   DELETE, or whose metadata left the filter, or created after a removal by filter, stays;
 * - a document created again after a removal continues its revisions, so its ingest job never has
 *   the id (and the stored outcome) of the deleted one;
 * - questions, removals and reindexes whose jobs Redis lost (FLUSHALL) are still known to GET /jobs and are
 *   enqueued again by the sweep from what SQL recorded.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createPostgresSchema, type PostgresSchema } from '../support/postgres-schema.js';
import { sendInlineCommand, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startWeb, startWorker, tempDataDir, type Env, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient, type JobView } from './jobs-harness.js';

const KEY = `ack-e2e-${randomUUID()}`;
const DATABASE_URL = process.env['TEST_DATABASE_URL'];
const BACKENDS = [{ name: 'SQLite', databaseUrl: undefined }, ...(DATABASE_URL ? [{ name: 'Postgres', databaseUrl: DATABASE_URL }] : [])];

for (const backend of BACKENDS) {
  describe(`acknowledged jobs on ${backend.name}`, () => {
    let redis: RedisServerHandle;
    let web: WebProcess;
    let worker: ServiceProcess | undefined;
    let schema: PostgresSchema | undefined;
    let env: Env;
    let client: ApiClient;

    const startTheWorker = async () => {
      worker = await startWorker(env);
      await worker.waitForLine(/worker ready/, 20_000);
    };
    const stopTheWorker = async () => {
      await worker?.stop();
      worker = undefined;
    };
    const waitForJob = async (queue: string, id: string, status: string): Promise<JobView> => {
      let last: JobView | undefined;
      await waitFor(
        async () => {
          last = await client.job(queue, id);
          return last.status === status;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `job ${queue}/${id} to be ${status} (last: ${JSON.stringify(last)})` },
      );
      return last as JobView;
    };
    const accepted = async (method: 'POST' | 'DELETE', path: string, body?: unknown) => {
      const reply = await client.request(method, path, body);
      assert.equal(reply.status, 202, `${method} ${path}: ${reply.text}`);
      return reply.body as { job: { queue: string; id: string }; document?: { id: string; revision: number } };
    };
    const ingested = async (id: string, text: string, metadata: Record<string, unknown> = {}) => {
      const { job } = await accepted('POST', '/documents', { id, text, metadata });
      return waitForJob('ingest', job.id, 'succeeded');
    };

    before(async () => {
      redis = await startRedisServer();
      schema = backend.databaseUrl ? await createPostgresSchema(backend.databaseUrl) : undefined;
      env = {
        REDIS_URL: redis.url,
        DATA_DIR: tempDataDir(),
        QUEUE_PREFIX: `ack-${randomUUID()}`,
        API_KEYS: KEY,
        RATE_LIMIT_MAX: '100000',
        SWEEP_MIN_AGE_MS: '0', // a job Redis lost is enqueued again at the worker's start
        ...(schema ? { DATABASE_URL: schema.url } : {}),
      };
      web = await startWeb(env);
      await web.waitForHttp(web.url);
      client = new ApiClient(() => web.url, KEY);
      await startTheWorker();
    });

    beforeEach(async () => {
      if (!worker) await startTheWorker(); // a failed test may have left it stopped
    });

    after(async () => {
      await Promise.allSettled([web?.close(), worker?.close()]);
      await redis?.close();
      await schema?.drop();
    });

    it('keeps a document posted again after its DELETE was acknowledged', async () => {
      await ingested('reposted', 'the first life of this document');
      await stopTheWorker();
      const removal = await accepted('DELETE', '/documents/reposted');
      const again = await accepted('POST', '/documents', { id: 'reposted', text: 'the second life, written after the delete' });
      assert.equal(again.document?.revision, 2);
      await startTheWorker();
      const done = await waitForJob('remove', removal.job.id, 'succeeded');
      assert.deepEqual(done.result, { documents: 0, chunks: 0, dryRun: false, seq: seqOf(done.result) });
      await waitForJob('ingest', again.job.id, 'succeeded');
      const doc = await client.document('reposted');
      assert.equal(doc?.status, 'ready');
      assert.equal(doc?.revision, 2);
      const search = await client.post('/search', { query: 'second life written after the delete', k: 1 });
      assert.equal((search.body as { results: Array<{ documentId: string }> }).results[0]?.documentId, 'reposted');
    });

    it('removes by filter only the documents that matched when the removal was acknowledged', async () => {
      await ingested('moved', 'a note of the red team', { team: 'red' });
      await ingested('stays-red', 'another note of the red team', { team: 'red' });
      await stopTheWorker();
      const removal = await accepted('POST', '/documents/delete', { where: { team: 'red' } });
      const moved = await accepted('POST', '/documents', { id: 'moved', text: 'a note of the red team', metadata: { team: 'blue' } });
      const later = await accepted('POST', '/documents', { id: 'red-later', text: 'a red note written after the removal', metadata: { team: 'red' } });
      await startTheWorker();
      const done = await waitForJob('remove', removal.job.id, 'succeeded');
      assert.deepEqual(done.result, { documents: 1, chunks: 1, dryRun: false, seq: seqOf(done.result) }, 'only stays-red was still as acknowledged');
      await waitForJob('ingest', moved.job.id, 'succeeded');
      await waitForJob('ingest', later.job.id, 'succeeded');
      assert.equal(await client.document('stays-red'), undefined);
      assert.equal((await client.document('moved'))?.status, 'ready');
      assert.equal((await client.document('red-later'))?.status, 'ready');
    });

    it("gives a document created again a new revision and a new job id, never the deleted life's outcome", async () => {
      const first = await ingested('reborn', 'before the removal');
      const removal = await accepted('DELETE', '/documents/reborn');
      await waitForJob('remove', removal.job.id, 'succeeded');
      assert.equal(await client.document('reborn'), undefined);
      await stopTheWorker();
      const reborn = await accepted('POST', '/documents', { id: 'reborn', text: 'after the removal' });
      assert.notEqual(reborn.job.id, first.id);
      assert.equal(reborn.document?.revision, 2);
      const pending = await client.job('ingest', reborn.job.id);
      assert.equal(pending.status, 'waiting', JSON.stringify(pending));
      assert.equal(pending.result, undefined);
      await startTheWorker();
      await waitForJob('ingest', reborn.job.id, 'succeeded');
      assert.equal((await client.document('reborn'))?.revision, 2);
    });

    it('answers a question and runs a removal whose jobs Redis lost, from what SQL recorded', async () => {
      await ingested('lost-removal', 'this document is removed by a job that Redis forgets');
      await ingested('honey', 'Bees keep honey in wax cells.');
      await stopTheWorker();
      const session = await client.post('/chat/sessions', {});
      assert.equal(session.status, 201, session.text);
      const sessionId = (session.body as { id: string }).id;
      const question = await accepted('POST', `/chat/sessions/${sessionId}/messages`, { content: 'Where do bees keep honey?' });
      const removal = await accepted('DELETE', '/documents/lost-removal');
      const reindex = await accepted('POST', '/collections/default/reindex', { embedder: 'builtin:128' });
      assert.equal(await sendInlineCommand(redis.port, 'FLUSHALL'), '+OK');
      for (const [queue, id] of [
        ['answer', question.job.id],
        ['remove', removal.job.id],
        ['reindex', reindex.job.id],
      ] as const) {
        const job = await client.job(queue, id); // 200, not 404: SQL knows the job
        assert.equal(job.status, 'waiting', `${queue}: ${JSON.stringify(job)}`);
      }
      await startTheWorker();
      await waitForJob('answer', question.job.id, 'succeeded');
      await waitForJob('remove', removal.job.id, 'succeeded');
      await waitForJob('reindex', reindex.job.id, 'succeeded');
      assert.equal(((await client.get('/collections/default')).body as { embedder: string }).embedder, 'builtin:128');
      const messages = await client.get(`/chat/sessions/${sessionId}/messages`);
      const replies = (messages.body as { messages: Array<{ role: string; content: string }> }).messages.filter((m) => m.role === 'assistant');
      assert.equal(replies.length, 1);
      assert.match(replies[0]?.content ?? '', /wax cells/);
      assert.equal(await client.document('lost-removal'), undefined);
    });
  });
}

/** A removal's commit seq, checked to be one. */
function seqOf(result: unknown): number {
  const seq = (result as { seq?: unknown } | null)?.seq;
  assert.ok(typeof seq === 'number' && seq >= 0, `a removal names the seq of its commit: ${JSON.stringify(result)}`);
  return seq;
}
