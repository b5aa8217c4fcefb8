/** What one route's entry in the route registry (route-registry.ts) holds, and the helpers entries are written with. */
import type { z } from 'zod';
import type { Config } from '../../../shared/src/config.js';
import type { RouteAccess } from './access.js';
import type { RequestLimitsConfig } from './request-schemas.js';
import * as R from './response-schemas.js';

export type HttpMethod = 'get' | 'post' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  schema: z.ZodType;
  contentType?: string; // default application/json
  example?: unknown;
}

export interface RouteSpec {
  method: HttpMethod;
  path: string; // Express syntax: /documents/:id
  operationId: string;
  tag: 'service' | 'reference' | 'collections' | 'documents' | 'search' | 'jobs' | 'chat' | 'keys';
  summary: string;
  description?: string;
  // Who may call it (authorize.ts enforces it for every route from here): 'public' needs no key; a
  // role needs a key with at least that role (read < write < admin), else 403.
  access: RouteAccess;
  needsAllCollections?: boolean; // also a key over every collection (the dashboard, creating collections), else 403
  isCollectionScoped?: boolean; // set by the registry: a route of one collection (un-prefixed: default's); outside the key's scope, 404
  isMounted?: boolean; // a mounted sub-application (the queue dashboard), not a route of our routers
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: Record<string, { description: string; schema: z.ZodType }>; // request header name → what it holds
  body?: { schema: z.ZodType; example: unknown };
  upload?: { fields: z.ZodObject; fileField: string; description: string }; // multipart/form-data alternative
  responses: Record<number, ResponseSpec>;
}

export type RegistryConfig = RequestLimitsConfig &
  Pick<Config, 'UPLOAD_MAX_BYTES' | 'UPLOAD_PDF_MAX_PAGES' | 'EMBEDDER' | 'EMBED_MODEL' | 'MAX_API_KEY_COLLECTIONS' | 'MAX_PAGE_SIZE' | 'MAX_PAYLOAD_INDEXES'>;

const ERROR_MEANINGS: Record<number, string> = {
  400: 'invalid input: details lists {path, rule, message} per problem',
  401: 'no API key, or not a valid one (WWW-Authenticate: Bearer)',
  403: "the key's role is below the one the route needs (details name it)",
  404: 'not found',
  409: 'conflict with the current state (POST /search with minSeq: index_behind)',
  413: 'over a size limit',
  415: 'unsupported media type',
  429: 'rate limit or event-stream cap reached (Retry-After)',
  431: 'request line and headers larger than HTTP_MAX_HEADER_BYTES',
  503: 'Redis, the database or a worker is unavailable (Retry-After)',
  504: 'no worker answered in time',
};

/** Error answers: the one JSON error shape. */
export function errors(...statuses: number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(statuses.map((status) => [status, { description: ERROR_MEANINGS[status] ?? 'error', schema: R.ErrorBody }]));
}

export const ok = (description: string, schema: z.ZodType, example: unknown, contentType?: string): ResponseSpec => ({
  description,
  schema,
  example,
  ...(contentType ? { contentType } : {}),
});

/** An HTML page. */
export const html = (description: string): ResponseSpec => ok(description, R.TextBody, undefined, 'text/html');
