/**
 * The last middleware: every error becomes {error: {code, message, details?}} with its status.
 * body-parser's errors (malformed JSON, too large, wrong charset) are translated; a database that is
 * away becomes 503 upstream_unavailable, logged at warn; anything else that is not an AppError is
 * logged with its stack and answered 500 internal_error without its message. Every 503 carries
 * Retry-After, and its message names the dependency, never the driver's text or its address.
 */
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isDatabaseUnavailable } from '../../../shared/src/db/database-errors.js';
import { isRedisUnavailable } from '../../../shared/src/queue/redis-errors.js';
import {
  AppError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  UpstreamUnavailableError,
  ValidationError,
} from '../../../shared/src/errors.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';

export const UNAVAILABLE_RETRY_AFTER_S = 5; // what a 503 asks a client to wait: a pool reconnects, Redis restarts, in seconds
export const DATABASE_UNAVAILABLE = 'the database is unavailable; try again shortly';
export const REDIS_UNAVAILABLE = 'Redis is unavailable; try again shortly';

export function notFoundRoute(): RequestHandler {
  return (req, _res, next) => next(new NotFoundError(`no route ${req.method} ${req.path}`));
}

/**
 * For the http.Server's 'clientError' event: Node's parser refuses some requests before Express sees
 * them (headers over 16 KB, malformed HTTP, header timeouts). Answer those in the same JSON shape
 * instead of Node's bare status line, then close the connection.
 */
export function clientErrorHandler(): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'request headers are larger than the server accepts']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'the request was not received in time']
          : [400, 'Bad Request', 'malformed HTTP request'];
    const body = JSON.stringify({ error: { code: 'validation_failed', message, details: [{ path: '', rule: 'http', message }] } });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}

export function errorHandler(fallbackLogger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const appError = toAppError(err);
    const logger = (res.locals['logger'] as Logger | undefined) ?? fallbackLogger;
    if (!appError) {
      logger.error('unhandled error', { err: serializeError(err) });
      res.status(500).json({ error: { code: 'internal_error', message: 'internal error' } });
      return;
    }
    if (appError.status === 503) {
      // Handled, and the client is told to retry; the original (the driver's error, a worker's message) stays in the log.
      if (appError !== err || appError.cause !== undefined) logger.warn('dependency unavailable', { code: appError.code, err: serializeError(err) });
      res.setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S));
    }
    const details = appError instanceof ValidationError ? appError.issues : appError.details;
    res.status(appError.status).json({ error: { code: appError.code, message: appError.message, ...(details !== undefined ? { details } : {}) } });
  };
}

export function payloadTooLarge(limitBytes: number | undefined): PayloadTooLargeError {
  const message = `request body is larger than ${limitBytes ?? 'the limit of'} bytes (BODY_LIMIT_BYTES)`;
  return new PayloadTooLargeError(message, [{ path: '', rule: 'max_bytes', message }]);
}

/** body-parser and Express raise plain errors with `type`/`status`: map the ones a client causes, and a database that is away. */
function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (isRedisUnavailable(err)) return new UpstreamUnavailableError(REDIS_UNAVAILABLE, undefined, { cause: err }); // first: both carry socket codes
  if (isDatabaseUnavailable(err)) return new UpstreamUnavailableError(DATABASE_UNAVAILABLE, undefined, { cause: err });
  if (typeof err !== 'object' || err === null) return undefined;
  const { type, status } = err as { type?: unknown; status?: unknown };
  if (type === 'entity.too.large') return payloadTooLarge((err as { limit?: number }).limit);
  if (type === 'entity.parse.failed') {
    return new ValidationError('request body is not valid JSON (strict: an object or array)', [
      { path: '', rule: 'json', message: 'malformed JSON, or a top-level value that is not an object' },
    ]);
  }
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    const message = 'request bodies must be UTF-8 JSON (Content-Type charset, Content-Encoding gzip/deflate/br/identity)';
    return new UnsupportedMediaTypeError(message, [{ path: 'content-type', rule: 'encoding', message }]);
  }
  if (type === 'request.aborted') return new ValidationError('request aborted by the client');
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new ValidationError('bad request', [{ path: '', rule: 'request', message: 'the request could not be read' }]);
  return undefined;
}
