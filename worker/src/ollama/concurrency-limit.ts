/**
 * A counting semaphore for model calls: at most OLLAMA_MAX_CONCURRENCY requests to Ollama in flight per
 * worker process, shared by the embedder and the answerer (startServices creates one and passes it to
 * both). Ollama queues what it cannot run and answers 503 when its queue is full, so the limit keeps
 * one worker from starving the others. A waiter whose signal aborts leaves the queue at once.
 */
export interface ConcurrencyLimit {
  readonly max: number;
  readonly active: number; // tasks running now
  readonly waiting: number; // tasks queued for a slot
  /** Runs the task once a slot is free; rejects with the signal's reason if it aborts while queued. */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

interface Waiter {
  grant: () => void;
}

export function createConcurrencyLimit(max: number): ConcurrencyLimit {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${max}`);
  let active = 0;
  const queue: Waiter[] = [];

  function acquire(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (active < max) {
      active += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  function release(): void {
    const next = queue.shift();
    if (next === undefined) active -= 1;
    else next.grant(); // the slot passes straight to the next waiter
  }

  return {
    max,
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    async run(task, signal) {
      await acquire(signal);
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
