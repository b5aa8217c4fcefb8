/**
 * Authentication: when a key is required (API_KEYS set, or a key stored in SQL: key-store.ts), every
 * route but the public ones needs `Authorization: Bearer <key>`; event-stream routes also take
 * `?access_token=<key>`, since EventSource cannot send headers, and the queue dashboard HTTP Basic
 * auth with the key as password. The request's principal (role and collection scope, access.ts)
 * goes on res.locals for the route check (authorize.ts). A key is never logged or echoed: requests
 * carry a key id instead (an env key's first 8 hex digits of SHA-256, a stored key's id), which
 * logging and rate limiting use.
 */
import type { Request, RequestHandler, Response } from 'express';
import { UnauthorizedError } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import { OPEN_ACCESS, setPrincipal } from './access.js';
import type { KeyStore } from './key-store.js';

/** Routes an EventSource opens: the only ones where a key in the URL is accepted. */
export const EVENT_STREAM_PATHS: readonly RegExp[] = [/^(\/collections\/[^/]+)?\/chat\/sessions\/[^/]+\/events\/?$/i];
/** The queue dashboard, opened in a browser: it also takes HTTP Basic auth with the key as password, so the browser asks for it. */
export const DASHBOARD_PATHS: readonly RegExp[] = [/^\/admin\/queues(\/|$)/];
/** Routes that need no key (exact paths, as Express reports req.path): the registry's public routes that come after this check. */
export const PUBLIC_PATHS: readonly string[] = ['/health'];

const REALM = 'colmeia';

/** The key id res.locals carries after a successful check; undefined when authentication is off. */
export function apiKeyIdOf(res: Response): string | undefined {
  const id: unknown = res.locals['apiKeyId'];
  return typeof id === 'string' ? id : undefined;
}

/**
 * Middleware: 401 `unauthorized` with `WWW-Authenticate: Bearer` unless the request carries a valid
 * key; sets the principal and res.locals.apiKeyId and adds `keyId` to the request's child logger.
 */
export function requireApiKey(store: KeyStore): RequestHandler {
  return async (req, res, next) => {
    if (PUBLIC_PATHS.includes(req.path)) return next();
    if (!(await store.isRequired())) {
      setPrincipal(res, OPEN_ACCESS);
      return next();
    }
    const presented = presentedKey(req);
    if (presented.kind !== 'key') {
      const isDashboard = DASHBOARD_PATHS.some((pattern) => pattern.test(req.path));
      res.setHeader(
        'WWW-Authenticate',
        isDashboard ? `Basic realm="${REALM}", charset="UTF-8"` : `Bearer realm="${REALM}"${presented.kind === 'malformed' ? ', error="invalid_request"' : ''}`,
      );
      return next(unauthorized(presented.message, presented.rule));
    }
    const principal = await store.verify(presented.key);
    if (principal?.keyId === undefined) {
      res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="invalid_token"`);
      return next(unauthorized('the API key is not valid', 'api_key'));
    }
    setPrincipal(res, principal);
    res.locals['apiKeyId'] = principal.keyId;
    const logger = res.locals['logger'] as Logger | undefined;
    if (logger) res.locals['logger'] = logger.child({ keyId: principal.keyId });
    next();
  };
}

type Presented = { kind: 'key'; key: string } | { kind: 'missing' | 'malformed'; rule: string; message: string };

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i; // one visible-ASCII token, as keys are written in API_KEYS

function presentedKey(req: Request): Presented {
  const header = req.headers.authorization;
  if (header !== undefined && /^Basic /i.test(header) && DASHBOARD_PATHS.some((pattern) => pattern.test(req.path))) {
    const password = basicPassword(header);
    return password ? { kind: 'key', key: password } : { kind: 'malformed', rule: 'basic_scheme', message: 'Basic credentials must be "<any user>:<API key>"' };
  }
  if (header !== undefined) {
    const match = BEARER.exec(header);
    if (!match?.[1]) return { kind: 'malformed', rule: 'bearer_scheme', message: 'the Authorization header must be "Bearer <API key>"' };
    return { kind: 'key', key: match[1] };
  }
  if (req.method === 'GET' && EVENT_STREAM_PATHS.some((pattern) => pattern.test(req.path))) {
    const token = queryToken(req);
    if (token !== undefined) return token === '' ? { kind: 'malformed', rule: 'access_token', message: 'access_token is empty' } : { kind: 'key', key: token };
  }
  return { kind: 'missing', rule: 'required', message: 'an API key is required: send "Authorization: Bearer <API key>"' };
}

/** The password of `Authorization: Basic base64(user:password)`, or undefined. */
function basicPassword(header: string): string | undefined {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  return /^[\x21-\x7e]+$/.test(password) ? password : undefined;
}

/** ?access_token=… from the raw URL (one value; a repeated parameter is refused by being ignored). */
function queryToken(req: Request): string | undefined {
  const search = req.originalUrl.indexOf('?');
  if (search < 0) return undefined;
  const values = new URLSearchParams(req.originalUrl.slice(search + 1)).getAll('access_token');
  return values.length === 1 ? values[0] : undefined;
}

function unauthorized(message: string, rule: string): UnauthorizedError {
  return new UnauthorizedError(message, [{ path: 'authorization', rule, message }]);
}
