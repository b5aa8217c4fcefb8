/**
 * A job that ended is not run again when Bee-Queue delivers it once more (a worker killed after the
 * job's commit, a sweep, a retry): its stored outcome, written in the transaction of its effect,
 * stands. Real services: startServices against a private redis-server and SQLite.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../shared/src/config.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import { findJobRecord, recordPendingJob } from '../../shared/src/db/jobs-repo.js';
import { recordRemovalTargets } from '../../shared/src/db/removals-repo.js';
import { hashContent, upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { replaceDocumentChunks } from '../../shared/src/db/chunks-repo.js';
import { enqueue } from '../../shared/src/queue/enqueue.js';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';
import { waitFor } from '../../test/support/wait-for.js';
import { registerProcessors } from '../src/processors/register.js';
import { startServices, type Services } from '../src/services.js';

describe('a job delivered again after it ended', () => {
  let redis: RedisServerHandle;
  let services: Services;
  let dataDir: string;

  before(async () => {
    redis = await startRedisServer();
    dataDir = mkdtempSync(path.join(tmpdir(), 'colmeia-ended-'));
    services = await startServices(
      loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', DATA_DIR: dataDir, REDIS_URL: redis.url, QUEUE_PREFIX: `test-${randomUUID()}` }),
    );
    registerProcessors(services);
  });
  after(async () => {
    await services?.close();
    await redis?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the counts of a removal that already ran', async () => {
    const { db } = services;
    const text = 'a document a removal takes';
    const saved = await upsertPendingDocument(db, { id: 'gone', text, requestId: 'test' });
    const [vector] = await (await services.indexes.serving('default')).embedder.embed([text]);
    const chunks = [{ text, embedding: vector ?? [] }];
    await replaceDocumentChunks(db, { documentId: 'gone', revision: saved.revision, contentHash: hashContent(text), chunks });
    const jobId = `remove:${randomUUID()}`;
    const data = { collection: DEFAULT_COLLECTION, dryRun: false, requestId: 'test' };
    await db.transaction(async (trx) => {
      await recordRemovalTargets(trx, jobId, { documentId: 'gone' });
      await recordPendingJob(trx, { queue: 'remove', jobId, data });
    });
    const ended = async () => {
      const record = await findJobRecord(db, 'remove', jobId);
      return record?.status === 'succeeded' ? record : undefined;
    };
    await enqueue(services.queues.remove, services.config, jobId, data);
    await waitFor(async () => (await ended()) !== undefined, { timeoutMs: 10_000, what: 'the removal to succeed' });
    const first = (await ended())?.result as { seq?: unknown } | undefined;
    assert.ok(typeof first?.seq === 'number' && first.seq > 0, 'the removal names the seq of its commit');
    assert.deepEqual(first, { documents: 1, chunks: 1, dryRun: false, seq: first.seq });

    // Bee-Queue drops a finished job from Redis just after its outcome is in SQL; until then a save under its id adds nothing.
    await waitFor(async () => (await services.queues.remove.getJob(jobId)) === null, { timeoutMs: 10_000, what: 'Redis to drop the finished job' });
    await enqueue(services.queues.remove, services.config, jobId, data); // delivered again
    await waitFor(async () => ((await findJobRecord(db, 'remove', jobId))?.attempts ?? 0) >= 2, { timeoutMs: 10_000, what: 'the second delivery' });
    assert.deepEqual((await ended())?.result, { documents: 1, chunks: 1, dryRun: false, seq: first.seq }, 'the second delivery did not report 0 documents');
  });
});
