/**
 * One way to call Ollama, shared by the embedder and the answerer, so both keep the same rules:
 * at most OLLAMA_MAX_CONCURRENCY calls in flight (the shared ConcurrencyLimit), OLLAMA_TIMEOUT_MS of
 * silence per attempt, the caller's AbortSignal honoured, and retries with exponential back-off and
 * jitter only for what a retry can cure: 503 "server busy" (and 429/502/504), refused or reset
 * connections (classify-failure.ts). Other failures are translated into typed errors and thrown.
 *
 * The `ollama` client passes no signal to its non-streamed requests (embed, show, list), so every
 * attempt gets its own `new Ollama({ host, fetch })` whose fetch carries the attempt's signal.
 */
import { Ollama } from 'ollama';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import { createConcurrencyLimit, type ConcurrencyLimit } from './concurrency-limit.js';
import { raceAbort, sleep } from '../../../shared/src/time-limits.js';
import { OllamaTimeoutError, OllamaUnavailableError } from './ollama-errors.js';
import { classifyOllamaFailure } from './classify-failure.js';

export interface RetryPolicy {
  attempts: number; // tries per call, the first included
  baseDelayMs: number; // delay before the 2nd try; doubles each time, with jitter
  maxDelayMs: number; // cap of one delay
}

/** About 0.25 + 0.5 + 1 s of back-off at most: the job queue retries again later with its own back-off. */
export const defaultRetryPolicy: Readonly<RetryPolicy> = Object.freeze({ attempts: 4, baseDelayMs: 250, maxDelayMs: 4_000 });

export interface OllamaCallContext {
  client: Ollama; // bound to this attempt: timeout, the caller's signal and close() abort its requests
  signal: AbortSignal; // the same signal, for streams (call stream.abort() on it)
  touch(): void; // a streamed token arrived: restart the silence timer
  commit(): void; // output reached the caller: from now on a failure is not retried
}

export interface OllamaCallerOptions {
  host: string;
  model: string; // named in OllamaModelMissingError
  timeoutMs: number;
  limit: ConcurrencyLimit;
  logger: Logger;
  retry?: Partial<RetryPolicy>;
  fetch?: typeof fetch; // defaults to the global fetch
}

export interface OllamaCaller {
  readonly host: string;
  /** Runs the task with retries; `what` names the call in errors and logs ("embed", "chat"). */
  call<T>(what: string, task: (context: OllamaCallContext) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Aborts every call in flight; later calls reject. */
  close(): void;
}

/** What the embedder and the answerer pass to build their caller: config plus the shared limit. */
export interface OllamaClientOptions {
  limit?: ConcurrencyLimit; // shared by embedder and answerer; default: its own, of OLLAMA_MAX_CONCURRENCY
  retry?: Partial<RetryPolicy>;
  fetch?: typeof fetch;
}

/** A caller for `model` on the configured Ollama host. */
export function createOllamaCallerFromConfig(
  config: { OLLAMA_HOST: string; OLLAMA_TIMEOUT_MS: number; OLLAMA_MAX_CONCURRENCY: number },
  model: string,
  logger: Logger,
  options: OllamaClientOptions,
): OllamaCaller {
  return createOllamaCaller({
    host: config.OLLAMA_HOST,
    model,
    timeoutMs: config.OLLAMA_TIMEOUT_MS,
    limit: options.limit ?? createConcurrencyLimit(config.OLLAMA_MAX_CONCURRENCY),
    logger,
    ...(options.retry !== undefined ? { retry: options.retry } : {}),
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
  });
}

export function createOllamaCaller(options: OllamaCallerOptions): OllamaCaller {
  const { host, model, timeoutMs, limit, logger } = options;
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options.retry };
  const baseFetch = options.fetch ?? fetch;
  const inFlight = new Set<AbortController>(); // one per call, so close() can abort them all
  let isClosed = false;

  return {
    host,
    async call(what, task, signal) {
      const { signal: outer, release } = linkCall(signal);
      const state = { isCommitted: false };
      try {
        for (let attemptNumber = 1; ; attemptNumber += 1) {
          try {
            outer.throwIfAborted();
            return await limit.run(() => runAttempt({ host, timeoutMs, baseFetch }, what, task, outer, state), outer);
          } catch (err) {
            if (outer.aborted) throw outer.reason;
            if (err instanceof OllamaTimeoutError) throw err;
            const failure = classifyOllamaFailure(err, what, attemptNumber, { model, host });
            if (!failure.isRetryable || state.isCommitted || attemptNumber >= policy.attempts) throw failure.error;
            const delayMs = backoffMs(policy, attemptNumber);
            logger.warn('ollama call failed; retrying', { what, attempt: attemptNumber, delayMs, err: serializeError(err) });
            await sleep(delayMs, outer);
          }
        }
      } finally {
        release();
      }
    },
    close() {
      isClosed = true;
      for (const controller of inFlight) controller.abort(new OllamaUnavailableError('the ollama client was closed'));
    },
  };

  /**
   * One controller per call, aborted by the caller's signal or by close(). Deliberately not
   * AbortSignal.any([signal, longLivedCloseSignal]): that retains every combined signal on the
   * long-lived one (nodejs/node#55351), a leak in a worker making millions of calls.
   */
  function linkCall(signal: AbortSignal | undefined): { signal: AbortSignal; release: () => void } {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    if (isClosed) controller.abort(new OllamaUnavailableError('the ollama client was closed'));
    else if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    inFlight.add(controller);
    return {
      signal: controller.signal,
      release: () => {
        signal?.removeEventListener('abort', onAbort);
        inFlight.delete(controller);
      },
    };
  }
}

/** Exponential back-off with equal jitter: half the delay fixed, half random, so retries spread out. */
export function backoffMs(policy: RetryPolicy, attemptNumber: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attemptNumber - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

function bindFetch(base: typeof fetch, signal: AbortSignal): typeof fetch {
  return (input, init) => base(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
}

/** One attempt: a client bound to its own signal, aborted after OLLAMA_TIMEOUT_MS of silence. */
async function runAttempt<T>(
  options: Pick<OllamaCallerOptions, 'host' | 'timeoutMs'> & { baseFetch: typeof fetch },
  what: string,
  task: (context: OllamaCallContext) => Promise<T>,
  outer: AbortSignal,
  state: { isCommitted: boolean },
): Promise<T> {
  const { host, timeoutMs, baseFetch } = options;
  const silence = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => silence.abort(new OllamaTimeoutError(timeoutMs, what)), timeoutMs);
  };
  const signal = AbortSignal.any([outer, silence.signal]);
  const client = new Ollama({ host, fetch: bindFetch(baseFetch, signal) });
  touch();
  try {
    return await raceAbort(task({ client, signal, touch, commit: () => (state.isCommitted = true) }), signal);
  } catch (err) {
    if (silence.signal.aborted && !outer.aborted) throw new OllamaTimeoutError(timeoutMs, what);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
