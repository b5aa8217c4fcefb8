import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkVectors, InvalidVectorError } from '../src/embedders/check-vectors.js';

function assertRejects(vectors: unknown, message: RegExp, expectedCount = 2, dimension = 3): void {
  assert.throws(
    () => checkVectors(vectors, expectedCount, dimension),
    (err: unknown) => {
      assert.ok(err instanceof InvalidVectorError);
      assert.equal(err.name, 'InvalidVectorError');
      assert.match(err.message, message);
      return true;
    },
  );
}

function norm(vector: readonly number[]): number {
  return Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
}

describe('checkVectors', () => {
  it('returns the vectors scaled to unit length', () => {
    const [first, second] = checkVectors(
      [
        [3, 4, 0],
        [0, -2, 0],
      ],
      2,
      3,
    );
    assert.deepEqual(first, [0.6, 0.8, 0]);
    assert.deepEqual(second, [0, -1, 0]);
  });

  it('returns plain arrays and leaves its input untouched', () => {
    const input = [[1, 1, 1]];
    const [output] = checkVectors(input, 1, 3);
    assert.ok(Array.isArray(output));
    assert.notEqual(output, input[0]);
    assert.deepEqual(input, [[1, 1, 1]]);
  });

  it('normalises huge and subnormal components without overflow or underflow', () => {
    const [huge, tiny] = checkVectors(
      [
        [1e200, 1e200, 0],
        [1e-320, 1e-320, 0],
      ],
      2,
      3,
    );
    for (const vector of [huge, tiny]) {
      assert.ok(vector);
      assert.ok(Math.abs(vector[0]! - Math.SQRT1_2) < 1e-12);
      assert.ok(Math.abs(norm(vector) - 1) < 1e-12);
    }
  });

  it('accepts an empty batch when none is expected', () => {
    assert.deepEqual(checkVectors([], 0, 3), []);
  });

  it('refuses a batch that is not an array', () => {
    assertRejects(null, /expected an array of 2 vectors, got null/);
    assertRejects({ 0: [1, 2, 3] }, /got Object/);
    assertRejects('1,2,3', /got string/);
  });

  it('refuses a batch with the wrong number of vectors', () => {
    assertRejects([[1, 2, 3]], /expected 2 vectors, got 1/);
    assertRejects(
      [
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
      ],
      /expected 2 vectors, got 3/,
    );
  });

  it('refuses a vector that is not a plain array, naming its index', () => {
    assertRejects([[1, 2, 3], new Float32Array([1, 2, 3])], /vector 1 is not a plain array \(got Float32Array\)/);
    assertRejects([null, [1, 2, 3]], /vector 0 is not a plain array \(got null\)/);
  });

  it('refuses a vector of the wrong length', () => {
    assertRejects(
      [
        [1, 2, 3],
        [1, 2],
      ],
      /vector 1 has 2 dimensions, expected 3/,
    );
    assertRejects(
      [
        [1, 2, 3, 4],
        [1, 2, 3],
      ],
      /vector 0 has 4 dimensions, expected 3/,
    );
  });

  it('refuses NaN, naming the vector and the element', () => {
    assertRejects(
      [
        [1, 2, 3],
        [1, 2, Number.NaN],
      ],
      /vector 1 element 2 is NaN/,
    );
  });

  it('refuses Infinity and -Infinity', () => {
    assertRejects(
      [
        [Number.POSITIVE_INFINITY, 2, 3],
        [1, 2, 3],
      ],
      /vector 0 element 0 is Infinity/,
    );
    assertRejects(
      [
        [1, 2, 3],
        [1, Number.NEGATIVE_INFINITY, 3],
      ],
      /vector 1 element 1 is -Infinity/,
    );
  });

  it('refuses elements that are not numbers, including the holes of a sparse array', () => {
    assertRejects(
      [
        [1, '2', 3],
        [1, 2, 3],
      ],
      /vector 0 element 1 is not a number \(got string\)/,
    );
    assertRejects(
      [
        [1, 2, 3],
        // eslint-disable-next-line no-sparse-arrays -- the hole is the case under test
        [1, , 3],
      ],
      /vector 1 element 1 is not a number \(got undefined\)/,
    );
  });

  it('refuses a vector with zero norm', () => {
    assertRejects(
      [
        [1, 2, 3],
        [0, -0, 0],
      ],
      /vector 1 has zero norm/,
    );
  });
});
