/**
 * Polls a condition until it holds or a deadline passes, for state that announces itself through no
 * event (a port that starts answering, a row that appears). Prefer awaiting an event when there is one.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForOptions {
  timeoutMs: number; // give up after this long (measured from the call)
  intervalMs?: number; // pause between two checks
  what: string; // what is awaited, for the error message: "redis on port 6380 to answer PING"
}

export class WaitForTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WaitForTimeoutError';
  }
}

/**
 * Resolves once `predicate` returns true. A predicate that throws counts as "not yet"; when time
 * runs out the error names `what`, the number of checks, and the last thrown error (also as `cause`).
 */
export async function waitFor(predicate: () => Promise<boolean> | boolean, { timeoutMs, intervalMs = 20, what }: WaitForOptions): Promise<void> {
  const startedAt = Date.now();
  const deadline = startedAt + timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  for (;;) {
    attempts += 1;
    try {
      if (await predicate()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) break;
    await delay(Math.min(intervalMs, remainingMs));
  }
  const reason = lastError === undefined ? '' : `; last error: ${describe(lastError)}`;
  throw new WaitForTimeoutError(
    `timed out after ${Date.now() - startedAt} ms (limit ${timeoutMs} ms, ${attempts} checks) waiting for ${what}${reason}`,
    lastError === undefined ? undefined : { cause: lastError },
  );
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
