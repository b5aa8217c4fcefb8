import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchOptions } from '../src/bench-options.js';

describe('parseBenchOptions', () => {
  it('runs the full sizes of the issue by default', () => {
    const plan = parseBenchOptions([]);
    assert.equal(plan.size, 'full');
    assert.deepEqual(plan.indexSizes, [10_000, 100_000]);
    assert.equal(plan.out, 'bench-results/latest.json');
    assert.deepEqual(plan.phases, ['ingest', 'corpus', 'synthetic', 'collections']);
    assert.deepEqual(plan.collections, { neighbourChunks: 10_000, largeChunks: 100_000, manyCollections: 100, chunksPerCollection: 1_000, starts: 3 });
  });

  it('runs the collections phase alone, reduced for smoke', () => {
    const plan = parseBenchOptions(['--size', 'smoke', '--phases', 'collections']);
    assert.deepEqual(plan.phases, ['collections']);
    assert.ok(plan.collections.largeChunks > plan.collections.neighbourChunks);
    assert.ok(plan.collections.manyCollections * plan.collections.chunksPerCollection <= 10_000);
  });

  it('refuses an unknown phase', () => {
    assert.throws(() => parseBenchOptions(['--phases', 'corpus,collection']), /usage: npm run bench/);
  });

  it('takes explicit sizes in ascending order over the preset', () => {
    assert.deepEqual(parseBenchOptions(['--size', 'small', '--sizes', '30000,5000']).indexSizes, [5_000, 30_000]);
  });

  it('refuses an unknown size with the usage text', () => {
    assert.throws(() => parseBenchOptions(['--size', 'huge']), /usage: npm run bench/);
  });

  it('takes a pgvector server only as a postgres:// URL', () => {
    assert.equal(parseBenchOptions([]).pgvectorUrl, undefined);
    assert.equal(parseBenchOptions(['--pgvector', 'postgres://u@127.0.0.1:5433/db']).pgvectorUrl, 'postgres://u@127.0.0.1:5433/db');
    assert.throws(() => parseBenchOptions(['--pgvector', '127.0.0.1:5433']), /must be a postgres:\/\/ URL/);
  });

  it('refuses an unknown option', () => {
    assert.throws(() => parseBenchOptions(['--fast']), /Unknown option/);
  });
});
