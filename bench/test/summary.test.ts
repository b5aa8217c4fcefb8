import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from '../src/summary.js';

describe('summarize', () => {
  it('reports nearest-rank percentiles, so every percentile is a measured sample', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 down to 1
    const summary = summarize(samples);
    assert.equal(summary.n, 100);
    assert.equal(summary.p50, 50);
    assert.equal(summary.p95, 95);
    assert.equal(summary.p99, 99);
    assert.equal(summary.min, 1);
    assert.equal(summary.max, 100);
    assert.equal(summary.mean, 50.5);
  });

  it('gives the one sample for every percentile of a single sample', () => {
    const summary = summarize([0.25]);
    assert.deepEqual([summary.p50, summary.p95, summary.p99], [0.25, 0.25, 0.25]);
  });

  it('refuses zero samples', () => {
    assert.throws(() => summarize([]), RangeError);
  });
});
