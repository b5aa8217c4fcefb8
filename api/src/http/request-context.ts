/** Gives every request an id (a short client-sent X-Request-Id, or a new one), echoes it, and a child logger carrying it. */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../../../shared/src/logger.js';

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RequestLocals {
  requestId: string;
  logger: Logger;
}

export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const sent = req.get('x-request-id');
    const requestId = sent !== undefined && CLIENT_ID.test(sent) ? sent : randomUUID();
    res.setHeader('x-request-id', requestId);
    const child = logger.child({ requestId });
    res.locals['requestId'] = requestId;
    res.locals['logger'] = child;
    const started = performance.now();
    res.on('finish', () => {
      child.info('request', { method: req.method, path: req.path, status: res.statusCode, durationMs: Math.round((performance.now() - started) * 10) / 10 });
    });
    next();
  };
}

export function localsOf(res: { locals: Record<string, unknown> }): RequestLocals {
  return { requestId: res.locals['requestId'] as string, logger: res.locals['logger'] as Logger };
}
