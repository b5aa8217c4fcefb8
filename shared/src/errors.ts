/**
 * Typed errors in, one JSON shape out. Each error carries the HTTP status and the stable snake_case
 * code a client sees. Across the queue only {code, message} survives: errorFromCode rebuilds it.
 */
export abstract class AppError extends Error {
  abstract readonly status: number; // HTTP status when it reaches the API
  abstract readonly code: string; // stable snake_case code, part of the contract
  constructor(
    message: string,
    readonly details?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface ValidationIssue {
  path: string; // dotted path of the field, '' for the whole body
  rule: string; // what was broken: invalid_type, too_big, unrecognized_keys, ...
  message: string;
}

export class ValidationError extends AppError {
  readonly status = 400;
  readonly code = 'validation_failed';
  constructor(
    message: string,
    readonly issues: ValidationIssue[] = [],
    options?: ErrorOptions,
  ) {
    super(message, issues, options);
  }
}
export class NotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'not_found';
}
export class ConflictError extends AppError {
  readonly status = 409;
  readonly code = 'conflict';
}
export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly code = 'unauthorized';
}
/** A valid key whose role is below what the route needs (a collection outside its scope is a 404 instead: it is not seen at all). */
export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly code = 'forbidden';
}
export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly code = 'payload_too_large';
}
export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
}
export class RateLimitedError extends AppError {
  readonly status = 429;
  readonly code = 'rate_limited'; // Retry-After says when to come back
}
export class UpstreamUnavailableError extends AppError {
  readonly status = 503;
  readonly code = 'upstream_unavailable';
}
export class SearchTimeoutError extends AppError {
  readonly status = 504;
  readonly code = 'search_timeout';
}
/** A search asked for minSeq and the answering index, synced, has not reached it (the seq is not committed in that collection). */
export class IndexBehindError extends AppError {
  readonly status = 409;
  readonly code = 'index_behind';
}

/**
 * A job that must not be tried again, whatever its attempts left (BullMQ's UnrecoverableError): it
 * gave up after crashing its worker each time, its document has too many chunks, its payload is
 * malformed. The code says which (`gave_up`, `too_many_chunks`, `malformed_payload`); GET /jobs shows it.
 */
export class UnrecoverableJobError extends AppError {
  readonly status = 422;
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, undefined, options);
  }
}

/** A failure a job returns instead of throwing: no retry can fix it. */
export interface JobFailure {
  ok: false;
  code: string;
  message: string;
}

const byCode: Record<string, new (message: string) => AppError> = {
  validation_failed: ValidationError,
  not_found: NotFoundError,
  conflict: ConflictError,
  unauthorized: UnauthorizedError,
  payload_too_large: PayloadTooLargeError,
  unsupported_media_type: UnsupportedMediaTypeError,
  rate_limited: RateLimitedError,
  upstream_unavailable: UpstreamUnavailableError,
  search_timeout: SearchTimeoutError,
  index_behind: IndexBehindError,
};

/** Rebuilds the AppError a worker reported as {code, message}; unknown codes become a 503. */
export function errorFromCode(code: string, message: string): AppError {
  const ErrorClass = byCode[code] ?? UpstreamUnavailableError;
  return new ErrorClass(message);
}

export function jobFailure(err: AppError): JobFailure {
  return { ok: false, code: err.code, message: err.message };
}
