import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExactIndex, recallAt } from '../src/exact-index.js';

describe('ExactIndex', () => {
  const vectors = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [1, 1, 0],
  ];
  const index = new ExactIndex(vectors, [10, 20, 30, 40], 3);

  it('ranks rows by cosine similarity, best first', () => {
    const hits = index.topK([1, 0.1, 0], 2);
    assert.deepEqual(
      hits.map((hit) => hit.label),
      [10, 40],
    );
    assert.ok((hits[0]?.score ?? 0) > (hits[1]?.score ?? 0));
  });

  it('searches only the allowed labels when given a set', () => {
    assert.deepEqual(
      index.topK([1, 0.1, 0], 1, new Set([20, 30])).map((hit) => hit.label),
      [20],
    );
  });

  it('counts a found label tied with the k-th exact score as a hit', () => {
    const twin = new ExactIndex(
      [
        [1, 0],
        [1, 0],
        [0, 1],
      ],
      [1, 2, 3],
      2,
    ); // labels 1 and 2 are the same vector
    const truth = twin.topK([1, 0], 1);
    const other = truth[0]?.label === 1 ? 2 : 1;
    assert.equal(
      recallAt([other], truth, (label) => twin.score([1, 0], label)),
      1,
    );
    assert.equal(
      recallAt([3], truth, (label) => twin.score([1, 0], label)),
      0,
    );
  });
});
