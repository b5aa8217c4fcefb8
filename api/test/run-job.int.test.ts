/**
 * JobRunner against a real Redis: a waiter that settles while save() is still pending (here the
 * timeout, with Redis frozen by SIGSTOP) must not be an unhandled rejection, which ends the web
 * process. The chaos matrix saw it: a search job that failed in a worker at once, during a Postgres
 * stop, before the web's save() had resolved.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Queue from 'bee-queue';
import { JobRunner } from '../src/http/run-job.js';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';

describe('JobRunner with a frozen Redis', () => {
  let redis: RedisServerHandle;
  let queue: Queue<{ query: string }>;

  before(async () => {
    redis = await startRedisServer();
    queue = new Queue<{ query: string }>('search', { redis: { url: redis.url }, prefix: `test-${randomUUID()}`, isWorker: false });
    await queue.ready();
  });
  after(async () => {
    if (redis.isRunning) process.kill(redis.pid, 'SIGCONT');
    await queue.close(1_000).catch(() => undefined);
    await redis.close();
  });

  it('rejects run() without an unhandled rejection when the wait ends before save() does', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      process.kill(redis.pid, 'SIGSTOP'); // save() now waits for its own timeout, longer than the run's
      const outcome = await new JobRunner(queue).run({ query: 'hive' }, 50).then(
        () => 'resolved',
        (err: unknown) => (err as { code?: string }).code,
      );
      await nextTurn(); // unhandled rejections are reported once the microtasks have run
      assert.equal(outcome, 'upstream_unavailable', 'the save timed out: Redis is unavailable');
      assert.deepEqual(unhandled.map(String), []);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
