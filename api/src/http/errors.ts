/**
 * The last middleware: every error becomes {error: {code, message, details?}} with its status.
 * body-parser's errors (malformed JSON, too large, wrong charset) are translated; anything that is
 * not an AppError is logged with its stack and answered 500 internal_error without its message.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, NotFoundError, PayloadTooLargeError, ValidationError } from '../../../shared/src/errors.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';

export function notFoundRoute(): RequestHandler {
  return (req, _res, next) => next(new NotFoundError(`no route ${req.method} ${req.path}`));
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
    const details = appError instanceof ValidationError ? appError.issues : appError.details;
    res.status(appError.status).json({ error: { code: appError.code, message: appError.message, ...(details !== undefined ? { details } : {}) } });
  };
}

/** body-parser and Express raise plain errors with `type`/`status`: map the ones a client causes. */
function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (typeof err !== 'object' || err === null) return undefined;
  const { type, status } = err as { type?: unknown; status?: unknown };
  if (type === 'entity.too.large') {
    const limit = (err as { limit?: number }).limit;
    return new PayloadTooLargeError(`request body is larger than ${limit ?? 'the limit of'} bytes (BODY_LIMIT_BYTES)`);
  }
  if (type === 'entity.parse.failed') return new ValidationError('request body is not valid JSON', [{ path: '', rule: 'json', message: 'malformed JSON' }]);
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    return new ValidationError('unsupported request body encoding', [{ path: '', rule: 'encoding', message: 'use UTF-8 JSON' }]);
  }
  if (type === 'request.aborted') return new ValidationError('request aborted by the client');
  if (typeof status === 'number' && status >= 400 && status < 500) return new ValidationError('bad request', [{ path: '', rule: 'request', message: 'the request could not be read' }]);
  return undefined;
}
