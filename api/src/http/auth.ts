/**
 * API keys: when API_KEYS is set, every route but /health needs `Authorization: Bearer
 * <key>`; event-stream routes also take `?access_token=<key>`, since EventSource cannot send headers.
 * Keys are compared as SHA-256 digests with timingSafeEqual, so the time taken depends neither on how
 * much of a key matches nor on its length (timingSafeEqual throws on unequal lengths; digests are
 * always 32 bytes), and every configured key is compared, matched or not. A key is never logged or
 * echoed: requests carry a key id instead (the first 8 hex digits of the key's SHA-256), which
 * logging and rate limiting use.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Config } from '../../../shared/src/config.js';
import { UnauthorizedError } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';

/** Routes an EventSource opens: the only ones where a key in the URL is accepted. */
export const EVENT_STREAM_PATHS: readonly RegExp[] = [/^(\/collections\/[^/]+)?\/chat\/sessions\/[^/]+\/events\/?$/i];
/** The queue dashboard, opened in a browser: it also takes HTTP Basic auth with the key as password, so the browser asks for it. */
export const DASHBOARD_PATHS: readonly RegExp[] = [/^\/admin\/queues(\/|$)/];
/** Routes that need no key (exact paths, as Express reports req.path). */
export const PUBLIC_PATHS: readonly string[] = ['/health'];

const REALM = 'colmeia';

export interface ApiKeyVerifier {
  /** How many keys are configured; 0 means authentication is off. */
  readonly size: number;
  /** The id of the configured key equal to `presented`, or undefined. */
  verify(presented: string): string | undefined;
}

/** Hashes the configured keys once; verify() hashes the presented one and compares it with all of them. */
export function createApiKeyVerifier(keys: readonly string[]): ApiKeyVerifier {
  const configured = keys.map((key) => ({ digest: sha256(key), id: apiKeyId(key) }));
  return {
    size: configured.length,
    verify(presented) {
      const digest = sha256(presented);
      let matched: string | undefined;
      for (const key of configured) {
        if (timingSafeEqual(digest, key.digest) && matched === undefined) matched = key.id; // no early exit
      }
      return matched;
    },
  };
}

/** The non-secret name of a key: 8 hex digits of its SHA-256 (32 bits say nothing useful about a long random key). */
export function apiKeyId(key: string): string {
  return sha256(key).toString('hex').slice(0, 8);
}

/** The key id res.locals carries after a successful check; undefined when authentication is off. */
export function apiKeyIdOf(res: Response): string | undefined {
  const id: unknown = res.locals['apiKeyId'];
  return typeof id === 'string' ? id : undefined;
}

/**
 * Middleware: 401 `unauthorized` with `WWW-Authenticate: Bearer` unless the request carries a
 * configured key; sets res.locals.apiKeyId and adds `keyId` to the request's child logger.
 */
export function requireApiKey(config: Pick<Config, 'API_KEYS'>): RequestHandler {
  const verifier = createApiKeyVerifier(config.API_KEYS);
  return (req, res, next) => {
    if (verifier.size === 0 || PUBLIC_PATHS.includes(req.path)) {
      next();
      return;
    }
    const presented = presentedKey(req);
    if (presented.kind !== 'key') {
      const isDashboard = DASHBOARD_PATHS.some((pattern) => pattern.test(req.path));
      res.setHeader(
        'WWW-Authenticate',
        isDashboard ? `Basic realm="${REALM}", charset="UTF-8"` : `Bearer realm="${REALM}"${presented.kind === 'malformed' ? ', error="invalid_request"' : ''}`,
      );
      next(unauthorized(presented.message, presented.rule));
      return;
    }
    const keyId = verifier.verify(presented.key);
    if (keyId === undefined) {
      res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="invalid_token"`);
      next(unauthorized('the API key is not valid', 'api_key'));
      return;
    }
    res.locals['apiKeyId'] = keyId;
    const logger = res.locals['logger'] as Logger | undefined;
    if (logger) res.locals['logger'] = logger.child({ keyId });
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

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
