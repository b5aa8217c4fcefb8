/**
 * Response headers every answer carries (OWASP API8, Express security best practice): helmet's
 * defaults (nosniff, frame and referrer policies, HSTS, a restrictive CSP, no X-Powered-By), and
 * CORS only for the origins in CORS_ORIGINS. Without CORS_ORIGINS no Access-Control-* header is ever
 * sent, so browsers keep other sites' pages out. Mounted before auth: a CORS preflight (OPTIONS)
 * carries no Authorization header and is answered here.
 */
import type { RequestHandler } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import type { Config } from '../../../shared/src/config.js';

const PREFLIGHT_MAX_AGE_S = 600;

export function securityHeaders(config: Pick<Config, 'CORS_ORIGINS'>): RequestHandler[] {
  // No upgrade-insecure-requests: the chat page at / loads its own /assets/*, and on a plain-http
  // address other than localhost (`npm run dev` opened from another machine) the browser would
  // rewrite them to https:// and fail (measured: ERR_SSL_PROTOCOL_ERROR, a blank page). HTTPS
  // deployments keep HSTS, so this weakens nothing there.
  const handlers: RequestHandler[] = [helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } })];
  if (config.CORS_ORIGINS.length > 0) {
    handlers.push(
      cors({
        origin: [...config.CORS_ORIGINS],
        methods: ['GET', 'POST', 'DELETE'],
        allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'X-Request-Id'],
        exposedHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
        maxAge: PREFLIGHT_MAX_AGE_S,
      }),
    );
  }
  return handlers;
}
