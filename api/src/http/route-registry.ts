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
import { errors, type RegistryConfig, type RouteSpec } from './route-spec.js';
import { referenceRoutes, serviceRoutes } from './service-route-specs.js';
import { collectionRoutes, inCollection } from './collection-route-specs.js';
import { keyRoutes } from './key-route-specs.js';
import { payloadIndexRoutes } from './payload-index-route-specs.js';

export type { HttpMethod, RegistryConfig, ResponseSpec, RouteSpec } from './route-spec.js';

export function createRouteRegistry(config: RegistryConfig, schemas: RequestSchemas): RouteSpec[] {
  // served un-prefixed for the default collection and under /collections/:collection (http/collection-scope.ts)
  const scoped = [...documentRoutes(config, schemas), ...searchRoutes(schemas), ...chatRoutes(config, schemas)].map((route) => ({
    ...route,
    isCollectionScoped: true,
  }));
  const routes = [
    ...serviceRoutes(),
    ...referenceRoutes(),
    ...collectionRoutes(config),
    ...payloadIndexRoutes(config),
    ...keyRoutes(config),
    ...jobRoutes(config),
    ...scoped,
    ...inCollection(scoped),
  ];
  return routes.map(withCommonAnswers);
}

/**
 * Answers any route may give besides its own: 431 from Node's parser for every request; 429 from
 * the rate limiter on every route behind the API key; 403 where a key's role can be below the
 * route's (authorize.ts); 404 on a collection's routes for a key outside it; 413 and 415 from the
 * JSON body reader.
 */
function withCommonAnswers(route: RouteSpec): RouteSpec {
  const isGuarded = route.access !== 'public';
  const canForbid = route.access === 'write' || route.access === 'admin' || route.needsAllCollections === true;
  const common = [
    431,
    ...(isGuarded ? [401, 429] : []),
    ...(canForbid ? [403] : []),
    ...(route.isCollectionScoped ? [404] : []),
    ...(route.body ? [413, 415] : []),
  ];
  return { ...route, responses: { ...errors(...common), ...route.responses } };
}

/** "/documents/:id" → "/documents/{id}". */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
