/**
 * Jobs that ran before run alone. An attempt that ended with its worker (a native crash, an
 * out-of-memory kill) takes every job running beside it down too, and those jobs' attempts are
 * counted as well: with several ingest jobs at once per worker, a document that kills its worker
 * each time could use up the attempts of the innocent jobs delivered with it and fail them. So in
 * the queues that opt in (QueuePolicy.isRetryIsolated), a first attempt takes a shared turn and
 * runs beside others, while a job that ran before takes an exclusive turn: it waits until the jobs
 * running end, no new one starts while it waits or runs, and its attempt is counted only once its
 * turn has come (register.ts). A crash then costs an attempt only to the job that ran alone, or,
 * once, to the first attempts running beside the job at fault.
 *
 * Exclusive turns go first: a shared turn asked for while one waits queues behind it, so a retry
 * is not starved by a steady stream of first attempts. Turns are granted in arrival order.
 */
export type LeaveTurn = () => void;

interface Waiter {
  isExclusive: boolean;
  grant: () => void;
}

export class RetryIsolation {
  private shared = 0; // turns running beside each other
  private isExclusiveHeld = false;
  private readonly waiting: Waiter[] = [];

  /** A turn beside the other first attempts; resolves at once unless a job that ran before holds or awaits its turn. */
  shareTurn(): Promise<LeaveTurn> {
    return this.take(false);
  }

  /** A turn alone: resolves once no other turn runs. */
  aloneTurn(): Promise<LeaveTurn> {
    return this.take(true);
  }

  /** Turns running and waiting, for tests and logs. */
  get state(): { shared: number; exclusive: boolean; waiting: number } {
    return { shared: this.shared, exclusive: this.isExclusiveHeld, waiting: this.waiting.length };
  }

  private take(isExclusive: boolean): Promise<LeaveTurn> {
    return new Promise((resolve) => {
      this.waiting.push({ isExclusive, grant: () => resolve(this.leaver(isExclusive)) });
      this.grantWaiting();
    });
  }

  private leaver(isExclusive: boolean): LeaveTurn {
    let hasLeft = false;
    return () => {
      if (hasLeft) return;
      hasLeft = true;
      if (isExclusive) this.isExclusiveHeld = false;
      else this.shared--;
      this.grantWaiting();
    };
  }

  private grantWaiting(): void {
    for (let next = this.waiting[0]; next !== undefined && !this.isExclusiveHeld; next = this.waiting[0]) {
      if (next.isExclusive) {
        if (this.shared > 0) return; // the running turns end first
        this.isExclusiveHeld = true;
      } else {
        this.shared++;
      }
      this.waiting.shift();
      next.grant();
    }
  }
}
