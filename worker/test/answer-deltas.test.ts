/** answerDeltas: pieces given in one turn of the event loop go out as one delta, in order, and flush() sends at once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { answerDeltas } from '../src/processors/answer-deltas.js';

function recorder() {
  const sent: Array<[number, string]> = [];
  return { sent, deltas: answerDeltas((index, text) => sent.push([index, text])) };
}

describe('answerDeltas', () => {
  it('sends the pieces of one turn as one delta on the next turn', async () => {
    const { sent, deltas } = recorder();
    for (const piece of ['Bees ', 'keep ', 'honey.']) deltas.push(piece);
    assert.deepEqual(sent, [], 'nothing is published within the turn');
    await nextTurn();
    assert.deepEqual(sent, [[0, 'Bees keep honey.']]);
  });

  it('sends pieces of separate turns as separate deltas, numbered in order', async () => {
    const { sent, deltas } = recorder();
    deltas.push('one ');
    await nextTurn();
    deltas.push('two');
    await nextTurn();
    assert.deepEqual(sent, [
      [0, 'one '],
      [1, 'two'],
    ]);
  });

  it('flush() sends what is pending at once, and nothing is sent twice', async () => {
    const { sent, deltas } = recorder();
    deltas.push('partial');
    deltas.flush();
    assert.deepEqual(sent, [[0, 'partial']]);
    await nextTurn();
    deltas.flush();
    deltas.push('');
    await nextTurn();
    assert.deepEqual(sent, [[0, 'partial']], 'no second send, and an empty piece sends nothing');
  });
});
