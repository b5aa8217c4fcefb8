/**
 * What a browser opens: the chat page at `/` (static files from api/public, plain JS, no build
 * step), the API reference at `/docs` and the description at `/openapi.json`. They are public:
 * they hold no data (the page asks for the API key and sends it with each request it makes), so
 * app.ts mounts this router before the key check and the body parser. The description and the
 * reference page are built once per app from the route registry.
 * api/public is found relative to this file compiled (dist/api/src/routes/pages.js → api/public),
 * so `npm run build` and the Procfile's `node dist/api/src/main.js` serve the files in the repo.
 */
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { NotFoundError } from '../../../shared/src/errors.js';
import { renderDocsPage } from '../http/docs-page.js';
import { createOpenApiDocument, type OpenApiDocument } from '../http/openapi.js';
import { createRouteRegistry } from '../http/route-registry.js';
import type { ApiServices } from '../services.js';

export const PUBLIC_DIR = fileURLToPath(new URL('../../../../api/public/', import.meta.url));
export const ASSETS_PATH = '/assets';

export function pagesRouter(s: Pick<ApiServices, 'config' | 'schemas'>, publicDir = PUBLIC_DIR): Router {
  const router = Router();
  const document: OpenApiDocument = createOpenApiDocument(createRouteRegistry(s.config, s.schemas));
  const docsPage = renderDocsPage(document);

  router.get('/', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile('index.html', { root: publicDir });
  });
  router.use(ASSETS_PATH, express.static(publicDir, { index: false, fallthrough: true, maxAge: 0 }), (req, _res, next) => {
    next(new NotFoundError(`no asset ${req.path}`));
  });
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(docsPage);
  });
  return router;
}
