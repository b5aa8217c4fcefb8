/** createApp(services): the Express app, never listening, so tests can drive it too. */
import express from 'express';
import type { ApiServices } from './services.js';
import { requestContext } from './http/request-context.js';
import { errorHandler, notFoundRoute } from './http/errors.js';
import { healthRouter } from './routes/health.js';
import { documentsRouter } from './routes/documents.js';
import { searchRouter } from './routes/search.js';
import { jobsRouter } from './routes/jobs.js';

export function createApp(services: ApiServices): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestContext(services.logger));
  app.use(express.json({ limit: services.config.BODY_LIMIT_BYTES, strict: true, type: ['application/json', 'application/*+json'] }));
  app.use(healthRouter(services));
  app.use(documentsRouter(services));
  app.use(searchRouter(services));
  app.use(jobsRouter(services));
  app.use(notFoundRoute());
  app.use(errorHandler(services.logger));
  return app;
}
