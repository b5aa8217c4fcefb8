/** The route registry's entries for the service itself and for its reference pages. */
import { z } from 'zod';
import { exampleStatus } from './route-examples.js';
import * as R from './response-schemas.js';
import { errors, html, ok, type RouteSpec } from './route-spec.js';

export function serviceRoutes(): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/health',
      operationId: 'health',
      access: 'public',
      tag: 'service',
      summary: 'Liveness',
      responses: { 200: ok('alive', R.Health, { status: 'ok' }) },
    },
    {
      method: 'get',
      path: '/ready',
      operationId: 'ready',
      access: 'read',
      tag: 'service',
      summary: 'Readiness: Redis and the database answer',
      responses: {
        200: ok('ready', R.Readiness, { status: 'ready', checks: { redis: 'ok', database: 'ok' } }),
        503: ok('not ready; checks name what failed', R.Readiness, { status: 'unavailable', checks: { redis: 'redis did not answer', database: 'ok' } }),
        ...errors(401),
      },
    },
    {
      method: 'get',
      path: '/status',
      operationId: 'status',
      access: 'read',
      tag: 'service',
      summary: 'Workers, queue counts, documents by status, latest seq',
      responses: {
        200: ok('the deployment at a glance', R.ServiceStatus, exampleStatus),
        ...errors(401, 503),
      },
    },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      access: 'read',
      tag: 'service',
      summary: 'Prometheus metrics',
      responses: { 200: ok('Prometheus text format', R.TextBody, '# HELP colmeia_http_request_duration_seconds …\n', 'text/plain'), ...errors(401, 503) },
    },
    {
      method: 'get',
      path: '/admin/queues',
      operationId: 'queueDashboard',
      access: 'admin',
      needsAllCollections: true,
      tag: 'service',
      summary: 'Queue dashboard (Arena)',
      isMounted: true,
      responses: { 200: html('the dashboard (at /admin/queues/)'), 301: html('to /admin/queues/'), ...errors(401) },
    },
  ];
}

export function referenceRoutes(): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/',
      operationId: 'chatPage',
      access: 'public',
      tag: 'reference',
      summary: 'The chat page (asks for the API key; holds no data)',
      responses: { 200: html('the page') },
    },
    {
      method: 'get',
      path: '/docs',
      operationId: 'apiReference',
      access: 'public',
      tag: 'reference',
      summary: 'This API reference as a page',
      responses: { 200: html('the reference') },
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      access: 'public',
      tag: 'reference',
      summary: 'This API description (OpenAPI 3.1)',
      responses: { 200: ok('the description', z.record(z.string(), z.unknown()), undefined) },
    },
  ];
}
