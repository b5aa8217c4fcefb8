/** Group commit and the rounds that keep a document once per multi-row commit (coalescer.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer, distinctRounds, type Settled } from '../src/coalescer.js';

/** A run that records each call's items and answers each item doubled, after the test lets it finish. */
function recordingRun() {
  const calls: number[][] = [];
  const releases: Array<() => void> = [];
  const run = async (_key: string, items: number[]): Promise<Array<Settled<number>>> => {
    calls.push(items);
    await new Promise<void>((resolve) => releases.push(resolve));
    return items.map((item) => ({ ok: true, value: item * 2 }));
  };
  const releaseNext = async () => {
    while (releases.length === 0) await new Promise((resolve) => setImmediate(resolve));
    releases.shift()?.();
  };
  return { calls, run, releaseNext };
}

describe('Coalescer', () => {
  it('runs a lone item at once, and the items that arrive meanwhile together in the next call', async () => {
    const { calls, run, releaseNext } = recordingRun();
    const group = new Coalescer(run, 10);
    const first = group.submit('a', 1);
    await releaseNext(); // the first call is under way with item 1 alone
    const later = [group.submit('a', 2), group.submit('a', 3), group.submit('a', 4)];
    assert.equal(await first, 2);
    await releaseNext();
    assert.deepEqual(await Promise.all(later), [4, 6, 8]);
    assert.deepEqual(calls, [[1], [2, 3, 4]]);
  });

  it('caps a call at maxGroup items and keeps keys apart', async () => {
    const { calls, run, releaseNext } = recordingRun();
    const group = new Coalescer(run, 2);
    const all = [group.submit('a', 1), group.submit('a', 2), group.submit('a', 3), group.submit('b', 9)];
    for (let i = 0; i < 3; i++) await releaseNext();
    assert.deepEqual(await Promise.all(all), [2, 4, 6, 18]);
    assert.deepEqual(
      calls.map((c) => c.join(',')),
      ['1,2', '9', '3'],
    );
  });

  it('settles each item on its own result, and rejects every item of a call that throws', async () => {
    const settled = new Coalescer<number, number>(
      async (_key, items) => items.map((item) => (item < 0 ? { ok: false, error: new Error(`bad ${item}`) } : { ok: true, value: item })),
      10,
    );
    const [good, bad] = await Promise.allSettled([settled.submit('k', 1), settled.submit('k', -1)]);
    assert.deepEqual(good, { status: 'fulfilled', value: 1 });
    assert.equal(bad?.status, 'rejected');
    const throwing = new Coalescer<number, number>(async () => {
      throw new Error('database away');
    }, 10);
    const results = await Promise.allSettled([throwing.submit('k', 1), throwing.submit('k', 2)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal(await settled.submit('k', 5), 5, 'a key runs again after a failed call');
  });
});

describe('distinctRounds', () => {
  it('puts a document named twice in a later round, keeping the order within each', () => {
    assert.deepEqual(distinctRounds(['a', 'b', 'a', 'c', 'a', 'b']), [[0, 1, 3], [2, 5], [4]]);
    assert.deepEqual(distinctRounds([]), []);
  });
});
