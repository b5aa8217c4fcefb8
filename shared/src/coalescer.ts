/**
 * Group commit: work items of one key that arrive while that key's previous group runs are run
 * together next, in one call. A lone item runs after one turn of the event loop (no added latency
 * when idle); under load each call takes everything that gathered meanwhile, so many writes share one transaction
 * instead of each waiting for the write lock in turn. Groups of one key run one after another; the
 * run answers one settled result per item, so one item's failure need not fail the others.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

type GroupRun<I, R> = (key: string, items: I[]) => Promise<Array<Settled<R>>>;

interface Entry<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export class Coalescer<I, R> {
  private readonly waiting = new Map<string, Array<Entry<I, R>>>();
  private readonly running = new Set<string>();

  constructor(
    private readonly run: GroupRun<I, R>,
    private readonly maxGroup: number, // items per call at most: bounds one transaction's size
  ) {}

  /** The item's result, once the group it joined has run. */
  submit(key: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.waiting.get(key) ?? [];
      queue.push({ item, resolve, reject });
      this.waiting.set(key, queue);
      if (!this.running.has(key)) void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    this.running.add(key);
    try {
      // The writes are synchronous (better-sqlite3), so nothing joins while one runs: first let the
      // jobs whose replies have already arrived reach this point too (one turn of the event loop).
      await yieldToEventLoop();
      for (let queue = this.waiting.get(key); queue !== undefined && queue.length > 0; queue = this.waiting.get(key)) {
        const group = queue.splice(0, this.maxGroup);
        if (queue.length === 0) this.waiting.delete(key);
        await this.settle(key, group);
        await yieldToEventLoop();
      }
    } finally {
      this.running.delete(key);
    }
  }

  private async settle(key: string, group: Array<Entry<I, R>>): Promise<void> {
    let results: Array<Settled<R>>;
    try {
      results = await this.run(
        key,
        group.map((entry) => entry.item),
      );
    } catch (error) {
      results = group.map(() => ({ ok: false, error }));
    }
    group.forEach((entry, i) => {
      const result = results[i] ?? { ok: false, error: new Error('group run gave no result for an item') };
      if (result.ok) entry.resolve(result.value);
      else entry.reject(result.error);
    });
  }
}

/** A promise's outcome as a Settled result, never a rejection. */
export async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Item positions split so that no round names a document twice (a multi-row upsert or replace needs distinct ids). */
export function distinctRounds(ids: readonly string[]): number[][] {
  const rounds: Array<{ ids: Set<string>; at: number[] }> = [];
  ids.forEach((id, i) => {
    let round = rounds.find((r) => !r.ids.has(id));
    if (!round) {
      round = { ids: new Set(), at: [] };
      rounds.push(round);
    }
    round.ids.add(id);
    round.at.push(i);
  });
  return rounds.map((r) => r.at);
}
