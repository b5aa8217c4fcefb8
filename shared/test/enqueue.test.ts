/** The per-queue job policy (jobs/<queue>.ts, applied by enqueue.ts): exponential back-off with jitter, timeouts and concurrency per queue. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { jitteredBackoff } from '../src/queue/enqueue.js';
import { QUEUES, QUEUE_NAMES, type QueueName } from '../src/jobs/queue-table.js';
import type { Config } from '../src/config.js';

const jobTimeoutMs = (config: Config, queue: QueueName) => QUEUES[queue].policy.timeoutMs(config);
const queueConcurrency = (config: Config, queue: QueueName) => QUEUES[queue].policy.concurrency(config);

describe('jitteredBackoff', () => {
  it('doubles the delay after each retry and waits between half of it and all of it', () => {
    const job = { options: { backoff: { delay: 1_000 } } };
    for (const ceiling of [1_000, 2_000, 4_000, 8_000]) {
      const wait = jitteredBackoff(job);
      assert.ok(wait >= ceiling / 2 && wait <= ceiling, `${wait} outside [${ceiling / 2}, ${ceiling}]`);
      assert.equal(job.options.backoff.delay, ceiling * 2);
    }
  });

  it('spreads the waits of jobs that failed together', () => {
    const waits = new Set(Array.from({ length: 50 }, () => jitteredBackoff({ options: { backoff: { delay: 10_000 } } })));
    assert.ok(waits.size > 25, `only ${waits.size} distinct waits out of 50`);
  });
});

describe('per-queue policy', () => {
  it('takes each queue its own timeout and concurrency from config, with documented defaults', () => {
    const config = loadConfig({});
    assert.deepEqual(
      QUEUE_NAMES.map((queue) => jobTimeoutMs(config, queue)),
      [300_000, 300_000, 120_000, 5_000, 180_000, 120_000, 3_600_000],
    );
    assert.deepEqual(
      QUEUE_NAMES.map((queue) => queueConcurrency(config, queue)),
      [8, 8, 1, 8, 4, 1, 1],
    );
    const tuned = loadConfig({ INGEST_CONCURRENCY: '5', SEARCH_TIMEOUT_MS: '900' });
    assert.equal(queueConcurrency(tuned, 'ingest'), 5);
    assert.equal(jobTimeoutMs(tuned, 'search'), 900);
  });

  it('refuses the test-only crash switch in production', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production', API_KEYS: 'k', COLMEIA_TEST_ABORT_MARKER: 'marker-12345' }), /COLMEIA_TEST_ABORT_MARKER/);
  });
});
