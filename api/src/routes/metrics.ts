/** GET /metrics: Prometheus text format (api/src/http/metrics.ts says what is in it and where it comes from). */
import { Router } from 'express';
import { principalOf } from '../http/access.js';
import type { AppMetrics } from '../http/metrics.js';

export function metricsRouter(metrics: AppMetrics): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const text = await metrics.render(principalOf(res));
    res.set('Content-Type', metrics.contentType).send(text);
  });
  return router;
}
