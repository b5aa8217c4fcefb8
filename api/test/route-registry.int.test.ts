/**
 * The route registry against the app Express really builds (createApp with real services: a
 * private redis-server and a SQLite file): every route Express has is described and every described
 * route exists, path parameters match, every example passes the very schema the route uses, the
 * OpenAPI document holds together ($refs resolve, operation ids unique), and /openapi.json, /docs
 * and the chat page are served without an API key while the API still asks for one.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type express from 'express';
import { loadConfig } from '../../shared/src/config.js';
import { createLogger } from '../../shared/src/logger.js';
import { parse } from '../../shared/src/validation.js';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';
import { tempDataDir } from '../../test/support/service-processes.js';
import { createApp } from '../src/app.js';
import { createOpenApiDocument } from '../src/http/openapi.js';
import { createRouteRegistry, openApiPath, type RouteSpec } from '../src/http/route-registry.js';
import { startApiServices, type StartedApiServices } from '../src/services.js';

const KEY = 'registry-test-key-0123456789';

/** "GET /documents/:id" for every route Express will dispatch to, and "MOUNT /path" for mounted sub-apps. */
function expressRoutes(stack: unknown[], prefix = ''): string[] {
  const found: string[] = [];
  for (const layer of stack as Array<{
    name: string;
    rawPath?: string;
    route?: { path: string; methods: Record<string, boolean> };
    handle: { stack?: unknown[] };
  }>) {
    const base = layer.rawPath && layer.rawPath !== '/' ? `${prefix}${layer.rawPath}` : prefix;
    if (layer.route) {
      for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) found.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
    } else if (layer.name === 'router' && layer.handle.stack) {
      found.push(...expressRoutes(layer.handle.stack, base));
    } else if (layer.name === 'mounted_app') {
      found.push(`MOUNT ${base}`);
    }
  }
  return found;
}

const key = (route: RouteSpec) => (route.isMounted ? `MOUNT ${route.path}` : `${route.method.toUpperCase()} ${route.path}`);

describe('the route registry', () => {
  let redis: RedisServerHandle;
  let services: StartedApiServices;
  let app: express.Express;
  let server: Server;
  let base: string;
  let routes: RouteSpec[];

  before(async () => {
    redis = await startRedisServer();
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      REDIS_URL: redis.url,
      DATA_DIR: tempDataDir('colmeia-registry-'),
      QUEUE_PREFIX: `registry-${process.pid}`,
      API_KEYS: KEY,
    });
    services = await startApiServices(config, createLogger(config, 'web'));
    app = createApp(services);
    routes = createRouteRegistry(config, services.schemas);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await services?.close();
    await redis?.close();
  });

  it('describes every route Express has, and nothing Express does not have', () => {
    const actual = expressRoutes(app.router.stack).sort();
    const described = routes.map(key).sort();
    assert.deepEqual(
      actual.filter((route) => !described.includes(route)),
      [],
      'routes missing from the registry (and so from /openapi.json)',
    );
    assert.deepEqual(
      described.filter((route) => !actual.includes(route)),
      [],
      'described routes Express does not have',
    );
    assert.equal(new Set(described).size, described.length, 'a route is described twice');
  });

  it('declares exactly the path parameters each path has', () => {
    for (const route of routes) {
      const inPath = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1]).sort();
      assert.deepEqual(Object.keys(route.params?.shape ?? {}).sort(), inPath, key(route));
    }
  });

  it('has examples that pass the schemas the routes parse with and answer with', () => {
    for (const route of routes) {
      if (route.body) parse(route.body.schema, route.body.example, `${key(route)} request example`);
      const success = Object.entries(route.responses).filter(([status]) => status.startsWith('2'));
      assert.ok(success.length > 0, `${key(route)} describes no success answer`);
      for (const [status, response] of Object.entries(route.responses)) {
        if (response.example !== undefined) parse(response.schema, response.example, `${key(route)} ${status} example`);
        if (status.startsWith('2') && (response.contentType ?? 'application/json') === 'application/json' && route.path !== '/openapi.json') {
          assert.notEqual(response.example, undefined, `${key(route)} ${status} has no example`);
        }
      }
    }
  });

  it('builds an OpenAPI 3.1 document whose references resolve and whose operation ids are unique', () => {
    const document = createOpenApiDocument(routes);
    assert.equal(document['openapi'], '3.1.0');
    const ids = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((operation) => operation['operationId']));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(ids.length, routes.length);
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1] ?? '');
    assert.ok(refs.length > 20);
    assert.deepEqual(
      refs.filter((name) => !(name in document.components.schemas)),
      [],
    );
    for (const route of routes) {
      const operation = document.paths[openApiPath(route.path)]?.[route.method];
      assert.ok(operation, key(route));
      if (route.access === 'public') assert.deepEqual(operation['security'], [], `${key(route)} is public`);
    }
  });

  it('serves /openapi.json, /docs and the page without a key, and the API still wants one', async () => {
    const described = await fetch(`${base}/openapi.json`);
    assert.equal(described.status, 200);
    assert.deepEqual(await described.json(), JSON.parse(JSON.stringify(createOpenApiDocument(routes))));
    const docs = await fetch(`${base}/docs`);
    assert.equal(docs.status, 200);
    assert.match(docs.headers.get('content-type') ?? '', /text\/html/);
    const html = await docs.text();
    for (const route of routes) assert.ok(html.includes(`id="${route.operationId}"`), `/docs has no section for ${route.operationId}`);
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="\/assets\/app\.js">/);
    for (const asset of ['/assets/app.js', '/assets/app.css']) assert.equal((await fetch(`${base}${asset}`)).status, 200, asset);
    assert.equal((await fetch(`${base}/assets/missing.js`)).status, 404);
    assert.equal((await fetch(`${base}/documents`)).status, 401);
  });
});
