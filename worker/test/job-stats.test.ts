/** JobStats: per-queue outcome counts and cumulative duration buckets, as the heartbeat carries them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JOB_DURATION_BUCKETS_S, QueueJobStats } from '../../shared/src/heartbeats.js';
import { JobStats } from '../src/job-stats.js';

describe('JobStats', () => {
  it('counts outcomes and fills cumulative duration buckets', () => {
    const stats = new JobStats();
    stats.started('ingest');
    stats.started('ingest');
    assert.equal(stats.active('ingest'), 2);
    stats.finished('ingest', 'succeeded', 40); // 0.04 s
    stats.finished('ingest', 'errored', 3_000); // 3 s
    stats.stalled('ingest');
    const ingest = QueueJobStats.parse(stats.snapshot()['ingest']);
    assert.equal(stats.active('ingest'), 0);
    assert.deepEqual([ingest.succeeded, ingest.failed, ingest.errored, ingest.stalled], [1, 0, 1, 1]);
    assert.equal(ingest.durationCount, 2);
    assert.ok(Math.abs(ingest.durationSumS - 3.04) < 1e-9);
    const bucket = (bound: number) => ingest.durationBuckets[JOB_DURATION_BUCKETS_S.indexOf(bound)];
    assert.equal(bucket(0.025), 0);
    assert.equal(bucket(0.05), 1);
    assert.equal(bucket(2.5), 1);
    assert.equal(bucket(5), 2);
    assert.equal(bucket(300), 2);
  });

  it('remembers when a queue last started a job, for the connection watchdog', () => {
    const stats = new JobStats();
    assert.equal(stats.lastStartedAt('search'), 0);
    const before = Date.now();
    stats.started('search');
    assert.ok(stats.lastStartedAt('search') >= before);
  });
});
