/**
 * vector_log compaction against real databases: rows every checkpoint has passed go, the newest
 * row always stays, a checkpoint at or after the compaction point still loads and catches up by
 * replay, and an older one is rebuilt from the chunks table instead of replayed over the gap.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { latestSeq } from '../../shared/src/db/chunks-repo.js';
import { compactLog, compactedThrough } from '../../shared/src/db/log-compaction-repo.js';
import { writeHeartbeat } from '../../shared/src/heartbeats.js';
import { createRedisClient } from '../../shared/src/queue/redis-client.js';
import { startRedisServer } from '../../test/support/redis-server.js';
import { compactOnce } from '../src/log-compactor.js';
import { BACKENDS, openIndexFixture, type IndexFixture } from './index-fixture.js';

const beat = (id: string, checkpointSeq: number) => ({
  id,
  pid: 1,
  host: 'test',
  startedAt: new Date().toISOString(),
  lastSeen: Date.now(),
  indexSize: 0,
  appliedSeq: checkpointSeq,
  checkpointSeq,
  embedder: 'test',
  status: 'ready',
});

for (const backend of BACKENDS) {
  describe(`vector_log compaction on ${backend}`, () => {
    const fixtures: IndexFixture[] = [];
    after(async () => {
      for (const fx of fixtures) await fx.close();
    });
    const open = async () => {
      const fx = await openIndexFixture(backend);
      fixtures.push(fx);
      return fx;
    };

    it('deletes what the checkpoint passed and keeps the newest row', async () => {
      const fx = await open();
      for (const id of ['a', 'b', 'c']) await fx.seed(id, `note ${id} about honey`);
      const latest = await latestSeq(fx.db);
      const removed = await compactLog(fx.db, latest + 100, 1_000);
      assert.equal(removed, 2, 'three adds logged, the newest one kept');
      assert.equal(await latestSeq(fx.db), latest);
      assert.equal(await compactedThrough(fx.db), latest - 1);
      assert.equal(await compactLog(fx.db, latest + 100, 1_000), 0);
    });

    it('loads a checkpoint the compaction did not pass, and rebuilds from one it passed', async () => {
      const fx = await open();
      for (const id of ['a', 'b', 'c']) await fx.seed(id, `note ${id} about wax`);
      const first = await fx.openIndex();
      await first.checkpoint();
      const checkpointSeq = first.stats().checkpointSeq;
      assert.ok(checkpointSeq > 0);
      for (const id of ['d', 'e']) await fx.seed(id, `note ${id} about pollen`);
      assert.ok((await compactLog(fx.db, checkpointSeq, 1_000)) > 0);

      const caughtUp = await fx.openIndex();
      assert.equal(caughtUp.startup.source, 'checkpoint');
      assert.equal(caughtUp.size, 5);

      for (const id of ['f', 'g']) await fx.seed(id, `note ${id} about nectar`);
      await compactLog(fx.db, await latestSeq(fx.db), 1_000);
      const rebuilt = await fx.openIndex();
      assert.equal(rebuilt.startup.source, 'rebuild');
      assert.match(rebuilt.startup.reason ?? '', /compacted through seq \d+, past the checkpoint's \d+/);
      assert.equal(rebuilt.size, 7);
    });
  });
}

describe('the log compactor', () => {
  it("compacts only what every live worker's checkpoint has passed", async () => {
    const redisServer = await startRedisServer();
    const fx = await openIndexFixture('sqlite');
    const redis = createRedisClient({ REDIS_URL: redisServer.url, REDIS_TLS_REJECT_UNAUTHORIZED: true }, 'compactor-test');
    try {
      for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) await fx.seed(id, `note ${id}`);
      const parts = { config: fx.config, db: fx.db, redis, logger: fx.logger, ownCheckpointSeq: () => 5 };
      await writeHeartbeat(redis, fx.config.QUEUE_PREFIX, beat('other', 0));
      assert.equal(await compactOnce(parts), 0, 'a worker with no checkpoint holds compaction back');
      await writeHeartbeat(redis, fx.config.QUEUE_PREFIX, beat('other', 3));
      assert.equal(await compactOnce(parts), 3);
      assert.equal(await compactedThrough(fx.db), 3);
      assert.equal(await compactOnce(parts), 0);
    } finally {
      redis.disconnect();
      await fx.close();
      await redisServer.close();
    }
  });
});
