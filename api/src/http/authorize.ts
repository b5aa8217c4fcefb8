/**
 * Authorization, for every route from its entry in the route registry (RouteSpec.access), in one
 * middleware: a router with one check per registered route, so a route added to the registry is
 * checked without anything else to write. Order of the checks: a collection outside the key's scope
 * is a 404 with the very body an unknown collection gets (the key cannot tell the two apart), then
 * a role below the route's is a 403 naming the role needed; a route not in the registry is a 404
 * for every key but an admin over every collection. Routes that span collections (jobs,
 * /status, /metrics, the collection list, keys) narrow what they answer to the key's scope themselves.
 */
import { Router, type RequestHandler } from 'express';
import { ForbiddenError, NotFoundError } from '../../../shared/src/errors.js';
import { CollectionId, DEFAULT_COLLECTION } from '../../../shared/src/input.js';
import { canSeeCollection, principalOf, reachesAllCollections, roleAllows, type Role } from './access.js';
import { notFoundRoute } from './errors.js';
import type { HttpMethod, RouteSpec } from './route-spec.js';

export function authorizeRoutes(routes: readonly RouteSpec[]): RequestHandler {
  // A request is matched against the routes of its own method only (mounted ones too, in registry
  // order), not against every route: this runs on every request. A method with no table of its
  // own (OPTIONS) meets them all, so Express answers it exactly as before.
  const all = checksRouter(routes);
  const byMethod = new Map(ROUTE_METHODS.map((method) => [method, checksRouter(routes.filter((route) => matchesMethod(route, method)))]));
  return (req, res, next) => {
    const table = byMethod.get(req.method.toLowerCase()) ?? all;
    table(req, res, next);
  };
}

/** Methods with a table of their own: those of the registry, and HEAD, which Express serves with the GET routes. */
const ROUTE_METHODS: readonly string[] = ['get', 'head', 'post', 'patch', 'delete'] satisfies ReadonlyArray<HttpMethod | 'head'>;

function matchesMethod(route: RouteSpec, method: string): boolean {
  return route.isMounted === true || route.method === method || (method === 'head' && route.method === 'get');
}

/** One check per route, in registry order, then the deny-by-default answer. */
function checksRouter(routes: readonly RouteSpec[]): Router {
  const router = Router();
  for (const route of routes) {
    const check: RequestHandler = route.access === 'public' ? (_req, _res, next) => next('router') : authorizeRoute(route, route.access);
    if (route.isMounted) router.use(route.path, check);
    else router[route.method](route.path, check);
  }
  // Deny by default: a request no registered route matches is, for any key short of an admin over
  // every collection, the 404 of an unknown route, so a route served but missing from the registry
  // (a test fails on that too) is never open to every key.
  const unknownRoute = notFoundRoute();
  router.use((req, res, next) => {
    const principal = principalOf(res);
    if (principal.role === 'admin' && reachesAllCollections(principal)) next();
    else unknownRoute(req, res, next);
  });
  return router;
}

function authorizeRoute(route: RouteSpec, needed: Role): RequestHandler {
  const hasCollectionParam = route.path.includes(':collection');
  return (req, res, next) => {
    const principal = principalOf(res);
    const param: unknown = req.params['collection'];
    const raw = hasCollectionParam ? param : route.isCollectionScoped ? DEFAULT_COLLECTION : undefined;
    // a malformed id names no collection: the route's own 400 answers it
    const parsed = raw === undefined ? undefined : CollectionId.safeParse(raw);
    const collection = parsed?.success ? parsed.data : undefined;
    if (collection !== undefined && !canSeeCollection(principal, collection)) throw new NotFoundError(`collection ${collection} not found`);
    if (!roleAllows(principal.role, needed)) throw forbidden(`${route.method.toUpperCase()} ${route.path} needs a key with the ${needed} role`, 'role');
    if (route.needsAllCollections && !reachesAllCollections(principal)) {
      throw forbidden(`${route.method.toUpperCase()} ${route.path} needs a key over every collection`, 'all_collections');
    }
    next('router'); // one check per request: the first registered route that matches
  };
}

function forbidden(message: string, rule: string): ForbiddenError {
  return new ForbiddenError(message, [{ path: 'authorization', rule, message }]);
}
