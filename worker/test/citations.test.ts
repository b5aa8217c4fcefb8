import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCitations } from '../src/answerers/citations.js';

describe('checkCitations', () => {
  it('splits the cited numbers into given sources and numbers no source has', () => {
    assert.deepEqual(checkCitations('Bees store nectar [1]. Wax comes from glands [2][5]. See also [0].', 3), { valid: [1, 2], invalid: [0, 5] });
  });

  it('reads lists in one bracket, each number once, ascending', () => {
    assert.deepEqual(checkCitations('As [3, 1] and [1,4] say.', 3), { valid: [1, 3], invalid: [4] });
  });

  it('finds nothing in an answer without citations, and ignores bracketed years', () => {
    assert.deepEqual(checkCitations('No stored passage answers this question.', 2), { valid: [], invalid: [] });
    assert.deepEqual(checkCitations('Founded in [2024], see [a].', 2), { valid: [], invalid: [] });
  });

  it('flags every citation when no source was given', () => {
    assert.deepEqual(checkCitations('It is so [1].', 0), { valid: [], invalid: [1] });
  });
});
