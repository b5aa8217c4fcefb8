/** RetryIsolation: shared turns run together, a turn alone waits for them and holds back the turns asked after it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RetryIsolation, type LeaveTurn } from '../src/processors/retry-isolation.js';

/** Resolves `order` entries as turns are granted. */
function track(order: string[], name: string, turn: Promise<LeaveTurn>): Promise<LeaveTurn> {
  return turn.then((leave) => {
    order.push(name);
    return leave;
  });
}

describe('RetryIsolation', () => {
  it('grants shared turns at once, side by side', async () => {
    const isolation = new RetryIsolation();
    const [a, b] = await Promise.all([isolation.shareTurn(), isolation.shareTurn()]);
    assert.deepEqual(isolation.state, { shared: 2, exclusive: false, waiting: 0 });
    a();
    b();
    assert.deepEqual(isolation.state, { shared: 0, exclusive: false, waiting: 0 });
  });

  it('runs a turn alone once the shared ones end, and holds back the shared turns asked after it', async () => {
    const isolation = new RetryIsolation();
    const order: string[] = [];
    const first = await isolation.shareTurn();
    const alone = track(order, 'alone', isolation.aloneTurn());
    const later = track(order, 'later', isolation.shareTurn());
    await nextTurn();
    assert.deepEqual(order, [], 'the turn alone waits for the running one; the later shared turn waits behind it');
    first();
    const leaveAlone = await alone;
    await nextTurn();
    assert.deepEqual(order, ['alone']);
    assert.deepEqual(isolation.state, { shared: 0, exclusive: true, waiting: 1 });
    leaveAlone();
    (await later)();
    assert.deepEqual(order, ['alone', 'later']);
    assert.deepEqual(isolation.state, { shared: 0, exclusive: false, waiting: 0 });
  });

  it('grants turns alone one at a time, in arrival order, and leaving twice changes nothing', async () => {
    const isolation = new RetryIsolation();
    const order: string[] = [];
    const one = await track(order, 'one', isolation.aloneTurn());
    const two = track(order, 'two', isolation.aloneTurn());
    one();
    one(); // a second leave must not release the turn of the next holder
    const leaveTwo = await two;
    assert.deepEqual(isolation.state, { shared: 0, exclusive: true, waiting: 0 });
    const three = track(order, 'three', isolation.shareTurn());
    await nextTurn();
    assert.deepEqual(order, ['one', 'two']);
    leaveTwo();
    (await three)();
    assert.deepEqual(order, ['one', 'two', 'three']);
  });
});
