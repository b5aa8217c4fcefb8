/**
 * The one list of the HTTP API's routes: method, path, summary, the zod schemas each route parses
 * its input with (the same instances the routers use: createRequestSchemas, createChatSchemas,
 * JobRef), the schema of every answer (response-schemas.ts) and an example of each. The OpenAPI
 * description (openapi.ts) and the /docs page are generated from it, and tests check it both ways:
 * every route Express has is listed here and every listed route exists, and every example passes
 * its schema.
 */
import type { RequestSchemas } from './request-schemas.js';
import { chatRoutes, jobRoutes } from './chat-route-specs.js';
import { documentRoutes, searchRoutes } from './document-route-specs.js';
import type { RegistryConfig, RouteSpec } from './route-spec.js';
import { referenceRoutes, serviceRoutes } from './service-route-specs.js';

export type { HttpMethod, RegistryConfig, ResponseSpec, RouteSpec } from './route-spec.js';

export function createRouteRegistry(config: RegistryConfig, schemas: RequestSchemas): RouteSpec[] {
  return [
    ...serviceRoutes(),
    ...referenceRoutes(),
    ...documentRoutes(config, schemas),
    ...searchRoutes(schemas),
    ...jobRoutes(),
    ...chatRoutes(config, schemas),
  ];
}

/** "/documents/:id" → "/documents/{id}". */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
