import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchOptions } from '../src/bench-options.js';

describe('parseBenchOptions', () => {
  it('runs the full sizes of the issue by default', () => {
    const plan = parseBenchOptions([]);
    assert.equal(plan.size, 'full');
    assert.deepEqual(plan.indexSizes, [10_000, 100_000]);
    assert.equal(plan.out, 'bench-results/latest.json');
    assert.deepEqual(plan.phases, ['corpus', 'synthetic']);
  });

  it('takes explicit sizes in ascending order over the preset', () => {
    assert.deepEqual(parseBenchOptions(['--size', 'small', '--sizes', '30000,5000']).indexSizes, [5_000, 30_000]);
  });

  it('refuses an unknown size with the usage text', () => {
    assert.throws(() => parseBenchOptions(['--size', 'huge']), /usage: npm run bench/);
  });

  it('refuses an unknown option', () => {
    assert.throws(() => parseBenchOptions(['--fast']), /Unknown option/);
  });
});
