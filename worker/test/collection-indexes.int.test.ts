/**
 * One index per collection (CollectionIndexes) against real databases: each index holds only its
 * collection's chunks, a collection created after start is loaded when a job names it, each one is
 * checkpointed in its own directory, a deleted collection's index and checkpoints go, many
 * collections load at once from their checkpoints (a damaged one is rebuilt alone), and the log
 * compactor compacts each collection only as far as every worker's checkpoint of it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readChunkEmbeddings, replaceDocumentChunks } from '../../shared/src/db/chunks-repo.js';
import { createCollection, purgeCollection } from '../../shared/src/db/collections-repo.js';
import { hashContent, upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { compactedThrough } from '../../shared/src/db/log-compaction-repo.js';
import { claimIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { writeHeartbeat } from '../../shared/src/heartbeats.js';
import { createRedisClient } from '../../shared/src/queue/redis-client.js';
import { NotFoundError } from '../../shared/src/errors.js';
import { startRedisServer } from '../../test/support/redis-server.js';
import { compactOnce } from '../src/log-compactor.js';
import { CollectionIndexes } from '../src/vectors/collection-indexes.js';
import { EmbedderRegistry } from '../src/embedders/embedder-registry.js';
import { createConcurrencyLimit } from '../src/ollama/concurrency-limit.js';
import { BACKENDS, openIndexFixture, type IndexFixture } from './index-fixture.js';

async function seedIn(fx: IndexFixture, collection: string, id: string, text: string): Promise<void> {
  const saved = await upsertPendingDocument(fx.db, { collection, id, text, requestId: 'test' });
  const [embedding = []] = await fx.embedder.embed([text]);
  const input = {
    collection,
    documentId: id,
    revision: saved.revision,
    contentHash: hashContent(text),
    chunks: [{ text, embedding }],
  };
  await replaceDocumentChunks(fx.db, input);
}

async function openIndexes(fx: IndexFixture): Promise<CollectionIndexes> {
  const meta = await claimIndexMeta(fx.db, fx.embedder.id, fx.embedder.dimension);
  const embedders = new EmbedderRegistry(fx.config, fx.logger, createConcurrencyLimit(1));
  return CollectionIndexes.load(fx.config, fx.db, embedders, meta.instanceId, fx.logger);
}

for (const backend of BACKENDS) {
  describe(`collection indexes on ${backend}`, () => {
    const fixtures: IndexFixture[] = [];
    after(async () => {
      for (const fx of fixtures) await fx.close();
    });

    it("keeps each collection's chunks in its own index, loads a later collection, and lets a deleted one go", async () => {
      const fx = await openIndexFixture(backend);
      fixtures.push(fx);
      for (const id of ['a', 'b', 'c']) await seedIn(fx, 'default', id, `default note ${id} about clover honey`);
      await createCollection(fx.db, { id: 'small', title: null, embedder: 'builtin', metadata: {} });
      await seedIn(fx, 'small', 'a', 'small note a about heather honey');
      const indexes = await openIndexes(fx);
      try {
        assert.deepEqual(Object.fromEntries(Object.entries(indexes.stats()).map(([c, s]) => [c, s.size])), { default: 3, small: 1 });
        const [query = []] = await fx.embedder.embed(['honey']);
        const small = await indexes.synced('small');
        assert.equal(small.search(query, 10).length, 1, "a search in small sees small's index only");

        await assert.rejects(indexes.synced('late'), NotFoundError);
        await createCollection(fx.db, { id: 'late', title: null, embedder: 'builtin', metadata: {} });
        await seedIn(fx, 'late', 'x', 'late note x');
        assert.equal((await indexes.synced('late')).size, 1, 'a collection created after start is loaded when a job names it');

        await (await indexes.synced('small')).checkpoint();
        await (await indexes.synced('default')).checkpoint();
        for (const c of ['default', 'small']) assert.ok(existsSync(path.join(fx.dataDir, 'index', c, 'CURRENT')), c);

        await purgeCollection(fx.db, 'small');
        await assert.rejects(indexes.synced('small'), NotFoundError);
        assert.ok(!existsSync(path.join(fx.dataDir, 'index', 'small')), "the deleted collection's checkpoints are gone");
        assert.deepEqual(Object.keys(indexes.stats()).sort(), ['default', 'late']);
      } finally {
        await indexes.close();
      }
    });

    it('loads many collections at once from their checkpoints, each with its own chunks, and rebuilds only the damaged one', async () => {
      const fx = await openIndexFixture(backend);
      fixtures.push(fx);
      const names = Array.from({ length: 9 }, (_, i) => `many-${i}`); // more than load at once
      for (const [i, collection] of names.entries()) {
        await createCollection(fx.db, { id: collection, title: null, embedder: 'builtin', metadata: {} });
        for (let d = 0; d <= i % 3; d++) await seedIn(fx, collection, `doc-${d}`, `${collection} note ${d} about honey from hive ${i}`);
      }
      const first = await openIndexes(fx);
      await first.close(); // writes every collection's checkpoint
      const damaged = path.join(fx.dataDir, 'index', 'many-4');
      const bin = path.join(damaged, `${readFileSync(path.join(damaged, 'CURRENT'), 'utf8').trim()}.bin`);
      const bytes = readFileSync(bin);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff; // same length, other content: only the checksum can tell
      writeFileSync(bin, bytes);

      const indexes = await openIndexes(fx);
      try {
        assert.deepEqual(Object.keys(indexes.stats()).sort(), ['default', ...names], 'every index is loaded at start');
        const [query = []] = await fx.embedder.embed(['honey']);
        for (const [i, collection] of names.entries()) {
          const index = await indexes.synced(collection);
          const own = (await readChunkEmbeddings(fx.db, 0, 100, collection)).map((row) => row.id).sort((a, b) => a - b);
          assert.equal(index.size, (i % 3) + 1, collection);
          assert.deepEqual(
            index
              .search(query, 10)
              .map((hit) => hit.chunkId)
              .sort((a, b) => a - b),
            own,
            `${collection} finds its own chunks only`,
          );
          const within = await index.searchWithin(query, 10, own); // exact scan: vectors read on demand, the copies come later
          assert.deepEqual(
            within.map((hit) => hit.chunkId).sort((a, b) => a - b),
            own,
          );
          const expected = collection === 'many-4' ? { source: 'rebuild', reason: 'index file checksum mismatch' } : { source: 'checkpoint', reason: null };
          assert.deepEqual({ source: index.startup.source, reason: index.startup.reason }, expected, collection);
        }
      } finally {
        await indexes.close();
      }
    });
  });
}

describe('the log compactor with collections', () => {
  it("compacts each collection only as far as every live worker's checkpoint of it", async () => {
    const redisServer = await startRedisServer();
    const fx = await openIndexFixture('sqlite');
    const redis = createRedisClient({ REDIS_URL: redisServer.url, REDIS_TLS_REJECT_UNAUTHORIZED: true }, 'compactor-collections-test');
    try {
      await createCollection(fx.db, { id: 'other', title: null, embedder: 'builtin', metadata: {} });
      for (const id of ['a', 'b', 'c']) await seedIn(fx, 'default', id, `note ${id}`); // seq 1-3
      for (const id of ['a', 'b', 'c']) await seedIn(fx, 'other', id, `other ${id}`); // seq 4-6
      const own = { default: 3, other: 6 } as Record<string, number>;
      const parts = { config: fx.config, db: fx.db, redis, logger: fx.logger, ownCheckpointSeq: (c: string) => own[c] ?? 0 };
      const beat = (collections: Record<string, number>) => ({
        id: 'other-worker',
        pid: 1,
        host: 'test',
        startedAt: new Date().toISOString(),
        lastSeen: Date.now(),
        indexSize: 0,
        appliedSeq: 0,
        checkpointSeq: collections['default'] ?? 0,
        embedder: 'test',
        status: 'ready',
        collections: Object.fromEntries(Object.entries(collections).map(([c, seq]) => [c, { size: 0, appliedSeq: seq, checkpointSeq: seq, lastSyncMs: 0 }])),
      });
      await writeHeartbeat(redis, fx.config.QUEUE_PREFIX, beat({ default: 3 })); // has not loaded `other` yet
      assert.equal(await compactOnce(parts), 2, "default's rows below its newest go; other is held back");
      assert.equal(await compactedThrough(fx.db, 'default'), 2);
      assert.equal(await compactedThrough(fx.db, 'other'), 0);
      await writeHeartbeat(redis, fx.config.QUEUE_PREFIX, beat({ default: 3, other: 5 }));
      assert.equal(await compactOnce(parts), 2, "other's rows through 5 go");
      assert.equal(await compactedThrough(fx.db, 'other'), 5);
    } finally {
      redis.disconnect();
      await fx.close();
      await redisServer.close();
    }
  });
});
