import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuseRanks, singleSide } from '../src/rank-fusion.js';

describe('reciprocal rank fusion', () => {
  it('puts a chunk both sides rank first at score 1, keeps each side its score and 1-based rank, and breaks ties by lexical rank', () => {
    const fused = fuseRanks(
      [
        { chunkId: 1, score: 0.9 },
        { chunkId: 2, score: 0.5 },
      ],
      [
        { chunkId: 1, score: 7 },
        { chunkId: 3, score: 2 },
      ],
      { rrfK: 60, vectorWeight: 1 },
    );
    assert.deepEqual(fused[0], { chunkId: 1, score: 1, vectorScore: 0.9, lexicalScore: 7, vectorRank: 1, lexicalRank: 1 });
    assert.deepEqual(
      fused.slice(1).map((hit) => [hit.chunkId, hit.vectorRank, hit.lexicalRank, hit.lexicalScore]),
      [
        [3, null, 2, 2],
        [2, 2, null, null],
      ],
    );
  });

  it('returns every chunk of either side once, best first, with scores in (0, 1]', () => {
    const side = fc.uniqueArray(fc.record({ chunkId: fc.integer({ min: 1, max: 40 }), score: fc.double({ noNaN: true }) }), {
      selector: (h) => h.chunkId,
      maxLength: 30,
    });
    fc.assert(
      fc.property(side, side, fc.integer({ min: 1, max: 200 }), fc.double({ min: 0.01, max: 10, noNaN: true }), (vector, lexical, k, weight) => {
        const fused = fuseRanks(vector, lexical, { rrfK: k, vectorWeight: weight });
        const ids = new Set([...vector, ...lexical].map((h) => h.chunkId));
        assert.equal(fused.length, ids.size);
        assert.ok(fused.every((hit, i) => hit.score > 0 && hit.score <= 1 && (i === 0 || fused[i - 1]!.score >= hit.score)));
      }),
    );
  });

  it('lets the lexical side outrank the vector side when the vector weight is lower', () => {
    const fused = fuseRanks([{ chunkId: 1, score: 0.9 }], [{ chunkId: 2, score: 5 }], { rrfK: 10, vectorWeight: 0.2 });
    assert.deepEqual(
      fused.map((hit) => hit.chunkId),
      [2, 1],
    );
    assert.ok(Math.abs((fused[0]?.score ?? 0) - 1 / 1.2) < 1e-12, 'a lexical-only first place scores 1 / (1 + weight)');
  });

  it('keeps one side as it is in a single-side mode', () => {
    assert.deepEqual(singleSide([{ chunkId: 4, score: 3.5 }], 'lexical'), [
      { chunkId: 4, score: 3.5, vectorScore: null, lexicalScore: 3.5, vectorRank: null, lexicalRank: 1 },
    ]);
  });
});
