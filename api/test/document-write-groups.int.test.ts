/**
 * Single document writes grouped when they arrive together (document-write-groups.ts), on real
 * databases (a SQLite file; Postgres too when TEST_DATABASE_URL is set) and a private Redis: writes
 * submitted at once share one transaction and one ingest-batch job, in Redis and in SQL; a lone
 * write keeps its own ingest job; two revisions of one document in a group get a job each; a
 * collection that is gone fails each request with 404; with Redis away the writes fail (503)
 * while their documents and job records stay for the sweep.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { loadConfig } from '../../shared/src/config.js';
import { findDocument } from '../../shared/src/db/documents-repo.js';
import { findJobRecords } from '../../shared/src/db/jobs-repo.js';
import { createLogger } from '../../shared/src/logger.js';
import { closeQueues, createQueues, type Queues } from '../../shared/src/queue/queues.js';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from '../../shared/test/test-database.js';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';
import { createDocumentWriteGroups, type DocumentWriteGroups } from '../src/http/document-write-groups.js';

const write = (groups: DocumentWriteGroups, id: string, collection = 'default') =>
  groups.write(collection, { id, text: `text of ${id}`, requestId: `req-${id}` });

for (const backend of DATABASE_BACKENDS) {
  describe(`single writes grouped on ${backend}`, () => {
    let database: TestDatabase;
    let db: Knex;
    let redis: RedisServerHandle;
    let queues: Queues;
    let groups: DocumentWriteGroups;

    before(async () => {
      database = await openTestDatabase(backend, 'colmeia-write-groups-');
      db = database.db;
      redis = await startRedisServer();
      const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', REDIS_URL: redis.url, QUEUE_PREFIX: `groups-${randomUUID()}` });
      queues = createQueues(config, 'api');
      groups = createDocumentWriteGroups({ db, queues, config, logger: createLogger(config, 'test') });
    });
    after(async () => {
      await closeQueues(queues, 500).catch(() => undefined);
      await redis.close();
      await database.close();
    });

    it('writes the documents submitted at once in one ingest-batch job, recorded in SQL and saved in Redis', async () => {
      const written = await Promise.all(['g1', 'g2', 'g3', 'g4'].map((id) => write(groups, id)));
      const [first] = written;
      assert.equal(first?.job.queue, 'ingest-batch');
      assert.deepEqual(new Set(written.map((w) => w.job.id)).size, 1, 'one job for the group');
      assert.deepEqual(
        written.map((w) => [w.document.id, w.document.revision, w.document.status]),
        ['g1', 'g2', 'g3', 'g4'].map((id) => [id, 1, 'pending']),
      );
      const jobId = first?.job.id ?? '';
      const record = (await findJobRecords(db, 'ingest-batch', [jobId])).get(jobId);
      assert.deepEqual(record?.data, {
        collection: 'default',
        documents: ['g1', 'g2', 'g3', 'g4'].map((documentId) => ({ documentId, revision: 1 })),
        requestId: 'req-g1',
      });
      assert.ok(await queues['ingest-batch'].getJob(jobId), 'the job is in Redis');
    });

    it('gives a lone write its own ingest job, named by document and revision', async () => {
      const written = await write(groups, 'alone');
      assert.deepEqual(written.job.queue, 'ingest');
      assert.ok(await queues.ingest.getJob(written.job.id), 'the job is in Redis');
      assert.equal((await findJobRecords(db, 'ingest', [written.job.id])).size, 1);
    });

    it('writes two revisions of one document in one group as two jobs, in the order they came', async () => {
      const [a, b, c] = await Promise.all([write(groups, 'twice'), write(groups, 'other'), write(groups, 'twice')]);
      assert.deepEqual([a?.document.revision, b?.document.revision, c?.document.revision], [1, 1, 2]);
      assert.equal(a?.job.id, b?.job.id, 'the first round is one batch');
      assert.notEqual(a?.job.id, c?.job.id, 'the second revision is a round of its own');
      assert.equal((await findDocument(db, 'twice'))?.revision, 2);
    });

    it('fails each write of a collection that does not exist with 404, and writes nothing', async () => {
      const outcomes = await Promise.allSettled([write(groups, 'n1', 'no-such'), write(groups, 'n2', 'no-such')]);
      for (const outcome of outcomes) {
        assert.equal(outcome.status, 'rejected');
        assert.equal((outcome.reason as { status?: number }).status, 404, String(outcome.reason));
      }
    });

    it('fails the writes with 503 when Redis is away, keeping their documents and job records for the sweep', async () => {
      process.kill(redis.pid, 'SIGSTOP');
      try {
        const outcomes = await Promise.allSettled([write(groups, 'r1'), write(groups, 'r2')]);
        for (const outcome of outcomes) {
          assert.equal(outcome.status, 'rejected');
          assert.equal((outcome.reason as { status?: number }).status, 503, String(outcome.reason));
        }
      } finally {
        process.kill(redis.pid, 'SIGCONT');
      }
      for (const id of ['r1', 'r2']) assert.equal((await findDocument(db, id))?.status, 'pending');
      const recorded = await db('jobs').where({ queue: 'ingest-batch' }).select('data');
      const documentsOf = (row: { data: unknown }) =>
        ((typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as { documents: Array<{ documentId: string }> }).documents
          .map((d) => d.documentId)
          .join();
      assert.ok(
        recorded.some((row: { data: unknown }) => documentsOf(row) === 'r1,r2'),
        'the job of this group is recorded',
      );
    });
  });
}
