/**
 * What a failed Ollama call was, in our typed errors (ollama-errors.ts), and whether a retry can cure
 * it: 503 "server busy" (and 429/502/504), refused or reset connections can; the rest cannot.
 */
import { OllamaModelMissingError, OllamaResponseError, OllamaUnavailableError } from './ollama-errors.js';

const retryableStatuses = new Set([429, 502, 503, 504]);
const networkErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** The typed error of a failed attempt, and whether a retry can cure it. */
export function classifyOllamaFailure(
  err: unknown,
  what: string,
  attempts: number,
  target: { model: string; host: string },
): { error: unknown; isRetryable: boolean } {
  const { model, host } = target;
  const gaveUp = `; gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
  if (err instanceof OllamaResponseError || err instanceof OllamaModelMissingError) return { error: err, isRetryable: false }; // already typed by the task
  if (isResponseError(err)) {
    const status = err.status_code;
    if (status === 404 && /model\b.*\bnot found/i.test(err.message)) {
      return { error: new OllamaModelMissingError(model, host, { cause: err }), isRetryable: false };
    }
    if (retryableStatuses.has(status)) {
      return { error: new OllamaUnavailableError(`ollama ${what} answered ${status} (${brief(err.message)})${gaveUp}`, { cause: err }), isRetryable: true };
    }
    return { error: new OllamaResponseError(`ollama ${what} answered ${status}: ${brief(err.message)}`, status, { cause: err }), isRetryable: false };
  }
  const code = networkErrorCode(err);
  if (code !== null) {
    return { error: new OllamaUnavailableError(`ollama at ${host} is unreachable for ${what} (${code})${gaveUp}`, { cause: err }), isRetryable: true };
  }
  if (err instanceof SyntaxError) {
    return {
      error: new OllamaResponseError(`ollama ${what} answered with a body that is not the expected JSON (${err.message})`, undefined, { cause: err }),
      isRetryable: false,
    };
  }
  return { error: err, isRetryable: false };
}

/** The client's ResponseError is not exported: recognise it by its shape. */
function isResponseError(err: unknown): err is Error & { status_code: number } {
  return err instanceof Error && err.name === 'ResponseError' && 'status_code' in err && typeof err.status_code === 'number';
}

/** A socket-level failure code anywhere in the cause chain (fetch wraps them as TypeError "fetch failed"). */
export function networkErrorCode(err: unknown): string | null {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if ('code' in current && typeof current.code === 'string' && networkErrorCodes.has(current.code)) return current.code;
    current = current.cause;
  }
  return err instanceof TypeError && err.message === 'fetch failed' ? 'fetch failed' : null;
}

function brief(message: string): string {
  const oneLine = message.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}
