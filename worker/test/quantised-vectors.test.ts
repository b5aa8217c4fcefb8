import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QuantisedVectors } from '../src/vectors/quantised-vectors.js';

/** Whether the slab scores `vector` against its own copy under `label` as 1, within the bound. */
function holdsOwnVector(slab: QuantisedVectors, label: number, vector: readonly number[]): boolean {
  const scored = slab.score(unitQuery(vector), label);
  return scored !== undefined && Math.abs(scored.approximate - 1) <= scored.bound;
}

function unitQuery(values: readonly number[]): Float32Array {
  const norm = Math.sqrt(values.reduce((sum, value) => sum + value * value, 0));
  return Float32Array.from(values, (value) => (norm > 0 ? value / norm : 0));
}

/** The cosine as the exact scan computes it: float32 inputs, float64 sums. */
function exactCosine(query: Float32Array, embedding: readonly number[]): number {
  const stored = Float32Array.from(embedding);
  let dotProduct = 0;
  let norm = 0;
  stored.forEach((value, i) => {
    dotProduct += (query[i] ?? 0) * value;
    norm += value * value;
  });
  return norm > 0 ? dotProduct / Math.sqrt(norm) : 0;
}

const vectorArb = (dimension: number) =>
  fc.array(fc.float({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true }), { minLength: dimension, maxLength: dimension });

describe('QuantisedVectors', () => {
  it('keeps the approximate cosine within its bound of the exact one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 48 }).chain((dimension) => fc.tuple(vectorArb(dimension), fc.array(vectorArb(dimension), { minLength: 1, maxLength: 20 }))),
        ([queryValues, vectors]) => {
          const slab = new QuantisedVectors();
          vectors.forEach((vector, label) => slab.put(label, vector));
          const query = unitQuery(queryValues);
          vectors.forEach((vector, label) => {
            const scored = slab.score(query, label);
            assert.ok(scored);
            const error = Math.abs(scored.approximate - exactCosine(query, vector));
            assert.ok(error <= scored.bound, `error ${error} above bound ${scored.bound}`);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('replaces a label in place, reuses freed slots and keeps vectors across growth', () => {
    const slab = new QuantisedVectors();
    const dimension = 8;
    const vectorOf = (label: number) => Array.from({ length: dimension }, (_, i) => Math.sin(label * 7 + i));
    for (let label = 0; label < 3_000; label++) slab.put(label, vectorOf(label));
    const bytesAfterGrowth = slab.bytes;
    for (let label = 0; label < 1_000; label++) slab.delete(label);
    for (let label = 10_000; label < 11_000; label++) slab.put(label, vectorOf(label)); // into the freed slots
    slab.put(2_000, vectorOf(2_000));
    assert.equal(slab.size, 3_000);
    assert.equal(slab.bytes, bytesAfterGrowth, 'no growth while freed slots remain');
    assert.equal(slab.has(5), false);
    assert.equal(slab.score(unitQuery(vectorOf(5)), 5), undefined);
    for (const label of [1_000, 2_000, 2_999, 10_000, 10_999]) {
      assert.ok(holdsOwnVector(slab, label, vectorOf(label)), `label ${label} holds its own vector`);
    }
  });

  it('sizes the slab once for a reserved count, before or after the first vector', () => {
    const dimension = 4;
    const vectorOf = (label: number) => Array.from({ length: dimension }, (_, i) => Math.cos(label * 3 + i));
    for (const reserveFirst of [true, false]) {
      const slab = new QuantisedVectors();
      if (reserveFirst) slab.reserve(5_000);
      slab.put(0, vectorOf(0));
      if (!reserveFirst) slab.reserve(5_000);
      const reservedBytes = slab.bytes;
      assert.equal(reservedBytes, 5_000 * (dimension + 8), 'int8 codes plus a float32 scale and bound per slot');
      for (let label = 1; label < 5_000; label++) slab.put(label, vectorOf(label));
      assert.equal(slab.bytes, reservedBytes, 'no growth up to the reserved count');
      for (const label of [0, 4_999]) assert.ok(holdsOwnVector(slab, label, vectorOf(label)));
    }
  });

  it('scores a zero vector 0 and refuses another dimension', () => {
    const slab = new QuantisedVectors();
    slab.put(1, [0, 0, 0]);
    assert.equal(slab.score(unitQuery([1, 2, 3]), 1)?.approximate, 0);
    assert.throws(() => slab.put(2, [1, 2]), /2 dimensions, the slab holds 3/);
  });
});
