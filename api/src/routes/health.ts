/**
 * GET /health (alive), GET /ready (Redis and database answer), GET /status (workers, queues, seq).
 * /ready names the dependency that failed but not how: a driver's message holds addresses and ports.
 * /status shows a key over some collections only what is theirs (scoped-heartbeat.ts; no queue counts).
 */
import { Router } from 'express';
import { latestSeq } from '../../../shared/src/db/chunks-repo.js';
import { countDocumentsByStatus } from '../../../shared/src/db/documents-repo.js';
import { readHeartbeats } from '../../../shared/src/heartbeats.js';
import { AppError } from '../../../shared/src/errors.js';
import { serializeError } from '../../../shared/src/logger.js';
import { queueList } from '../../../shared/src/queue/queues.js';
import { withTimeout } from '../../../shared/src/time-limits.js';
import { principalOf, reachesAllCollections, scopeList } from '../http/access.js';
import { localsOf } from '../http/request-context.js';
import { scopedHeartbeat } from '../http/scoped-heartbeat.js';
import type { ApiServices } from '../services.js';

const PROBE_TIMEOUT_MS = 1_000;

export function healthRouter(s: ApiServices): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/ready', async (_req, res) => {
    const [redis, database] = await Promise.allSettled([
      withTimeout(s.redis.ping(), PROBE_TIMEOUT_MS, 'redis did not answer'),
      withTimeout(s.db.raw('select 1'), PROBE_TIMEOUT_MS, 'database did not answer'),
    ]);
    const checks = { redis: describe(redis), database: describe(database) };
    const isReady = redis.status === 'fulfilled' && database.status === 'fulfilled';
    for (const [name, result] of [
      ['redis', redis],
      ['database', database],
    ] as const) {
      if (result.status === 'rejected') localsOf(res).logger.warn('readiness check failed', { dependency: name, err: serializeError(result.reason) });
    }
    res.status(isReady ? 200 : 503).json({ status: isReady ? 'ready' : 'unavailable', checks });
  });

  router.get('/status', async (_req, res) => {
    const principal = principalOf(res);
    const scope = reachesAllCollections(principal) ? undefined : scopeList(principal);
    const [workers, seq, documents, queues] = await Promise.all([
      withTimeout(readHeartbeats(s.redis, s.config.QUEUE_PREFIX, s.config.HEARTBEAT_INTERVAL_MS * 3), PROBE_TIMEOUT_MS, 'redis did not answer'),
      scope === undefined ? latestSeq(s.db) : Promise.all(scope.map((c) => latestSeq(s.db, c))).then((seqs) => Math.max(0, ...seqs)),
      countDocumentsByStatus(s.db, scope),
      // queue counts span collections: a key over some collections gets none
      scope !== undefined
        ? []
        : Promise.all(
            queueList(s.queues).map(async (queue) => ({
              name: queue.name,
              ...(await withTimeout(queue.checkHealth(), PROBE_TIMEOUT_MS, 'redis did not answer')),
            })),
          ),
    ]);
    res.json({
      workers: workers.map((w) => ({ ...scopedHeartbeat(w, principal), lastSeen: new Date(w.lastSeen).toISOString() })),
      queues,
      documents,
      latestSeq: seq,
    });
  });
  return router;
}

/** 'ok', our own timeout message ("database did not answer"), or 'unavailable'; the driver's text goes to the log. */
function describe(result: PromiseSettledResult<unknown>): string {
  return result.status === 'fulfilled' ? 'ok' : result.reason instanceof AppError ? result.reason.message : 'unavailable';
}
