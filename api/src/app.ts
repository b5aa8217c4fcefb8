/** createApp(services): the Express app, never listening, so tests can drive it too. */
import express from 'express';
import type { ApiServices } from './services.js';
import { requestContext } from './http/request-context.js';
import { pipelineOrder } from './http/pipeline-order.js';
import { errorHandler, notFoundRoute } from './http/errors.js';
import { securityHeaders } from './http/security-headers.js';
import { requireApiKey } from './http/auth.js';
import { authorizeRoutes } from './http/authorize.js';
import { createKeyStore } from './http/key-store.js';
import { createRouteRegistry } from './http/route-registry.js';
import { rateLimiter } from './http/rate-limit.js';
import { jsonBody } from './http/json-body.js';
import { healthRouter } from './routes/health.js';
import { documentsRouter } from './routes/documents.js';
import { documentReadsRouter } from './routes/document-reads.js';
import { searchRouter } from './routes/search.js';
import { jobsRouter } from './routes/jobs.js';
import { chatRouter } from './routes/chat.js';
import { collectionsRouter } from './routes/collections.js';
import { keysRouter } from './routes/keys.js';
import { payloadIndexesRouter } from './routes/payload-indexes.js';
import { createMetrics } from './http/metrics.js';
import { metricsRouter } from './routes/metrics.js';
import { ADMIN_QUEUES_PATH, adminQueuesDashboard } from './routes/admin-queues.js';
import { pagesRouter } from './routes/pages.js';

export function createApp(services: ApiServices): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', services.config.TRUST_PROXY);
  // Order matters: ids and logs first; headers on every answer (401s too); authentication before the
  // limiter, which counts per key; each route's access (role, collection scope) checked before any
  // body is read, so bodies are read only for authorised, admitted requests.
  app.use(requestContext(services.logger));
  app.use(pipelineOrder()); // a request pipelined after a write on its connection waits for that write
  const metrics = createMetrics(services); // one registry per app; times every request, 401s included
  app.use(metrics.middleware);
  app.use(securityHeaders(services.config));
  app.use(pagesRouter(services)); // the chat page, /docs and /openapi.json: public (no data in them), no body parser
  app.use(requireApiKey(createKeyStore(services.config, services.db, services.logger)));
  app.use(rateLimiter(services.config, services.redis, services.logger));
  app.use(authorizeRoutes(createRouteRegistry(services.config, services.schemas)));
  app.use(jsonBody(services.config));
  // The hot routes first, search then document writes: every router a request passes through
  // unmatched costs a pass over its patterns and a turn of the event loop (Express leaves a router by setImmediate).
  app.use(searchRouter(services));
  app.use(documentsRouter(services));
  app.use(healthRouter(services));
  app.use(collectionsRouter(services));
  app.use(keysRouter(services));
  app.use(payloadIndexesRouter(services));
  app.use(documentReadsRouter(services));
  app.use(jobsRouter(services));
  app.use(chatRouter(services));
  app.use(metricsRouter(metrics)); // behind the API key, as every route but /health; per-collection series narrowed to the key's scope
  app.use(ADMIN_QUEUES_PATH, adminQueuesDashboard(services.config, services.logger)); // Arena, behind the API key too
  app.use(notFoundRoute());
  app.use(errorHandler(services.logger));
  return app;
}
