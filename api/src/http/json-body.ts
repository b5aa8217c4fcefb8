/**
 * Request bodies are JSON and nothing else: a body sent as another media type (text/plain, a form)
 * is a 415 `unsupported_media_type` naming the header, instead of reaching a route as "no body" and
 * failing there with a puzzling "expected object". A Content-Length over BODY_LIMIT_BYTES is a 413
 * before a byte is read (body-parser would first read the whole upload off the socket, so a 50 MB
 * body waited for its upload); a chunked body meets the parser's limit instead. `strict` takes
 * objects and arrays only.
 * A request without a body (no Content-Length or 0, no Transfer-Encoding) passes untouched, since
 * fetch() sends `Content-Length: 0` on a bare POST.
 * One route also takes multipart/form-data: POST /documents (also /collections/:collection/documents), a file upload (upload.ts reads it). Its
 * early 413 allows UPLOAD_MAX_BYTES for the file plus BODY_LIMIT_BYTES for the form's other fields.
 */
import express, { type Request, type RequestHandler } from 'express';
import type { Config } from '../../../shared/src/config.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from '../../../shared/src/errors.js';
import { payloadTooLarge } from './errors.js';

const JSON_TYPES = ['application/json', 'application/*+json'];
/** Routes that also take a multipart/form-data body (method and path: POST /documents, also in a collection). */
export const MULTIPART_ROUTES: ReadonlyArray<{ method: string; path: RegExp }> = [{ method: 'POST', path: /^(\/collections\/[^/]+)?\/documents$/ }];

export function jsonBody(config: Pick<Config, 'BODY_LIMIT_BYTES' | 'UPLOAD_MAX_BYTES'>): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const length = Number(req.headers['content-length'] ?? '0');
    const hasBody = req.headers['transfer-encoding'] !== undefined || length !== 0;
    if (hasBody && isMultipartRoute(req) && req.is('multipart/form-data')) {
      const limit = config.UPLOAD_MAX_BYTES + config.BODY_LIMIT_BYTES;
      const message = `an upload is larger than ${limit} bytes (UPLOAD_MAX_BYTES + BODY_LIMIT_BYTES for the form's fields)`;
      next(length > limit ? new PayloadTooLargeError(message, [{ path: '', rule: 'max_bytes', message }]) : undefined);
      return;
    }
    if (hasBody && !req.is(JSON_TYPES)) {
      const sent = req.headers['content-type'] ?? 'none';
      const message = `request bodies must be JSON: send Content-Type: application/json (got ${JSON.stringify(sent.slice(0, 100))})`;
      next(new UnsupportedMediaTypeError(message, [{ path: 'content-type', rule: 'media_type', message }]));
      return;
    }
    if (length > config.BODY_LIMIT_BYTES) {
      next(payloadTooLarge(config.BODY_LIMIT_BYTES)); // at once; Node then drains the unread body
      return;
    }
    next();
  };
  return [requireJson, express.json({ limit: config.BODY_LIMIT_BYTES, strict: true, type: JSON_TYPES })];
}

function isMultipartRoute(req: Request): boolean {
  return MULTIPART_ROUTES.some((route) => route.method === req.method && route.path.test(req.path));
}
