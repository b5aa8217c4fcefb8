/**
 * Who a request acts as, and what that may reach (DESIGN.md §13). A key has a role and a collection
 * scope: `read` searches, chats and reads; `write` also adds and removes documents; `admin` also
 * manages collections and keys. Outside its scope a key sees nothing: a collection it cannot reach
 * answers exactly as one that does not exist. Env API_KEYS, and every request while no key is
 * configured at all (a local run), act as admin over every collection.
 */
import type { Response } from 'express';
import type { KeyRole } from '../../../shared/src/db/api-keys-repo.js';

export type Role = KeyRole;
export const ROLES: readonly Role[] = ['read', 'write', 'admin'];

/** What a route needs (RouteSpec.access): no key at all, or a key with at least this role. */
export type RouteAccess = 'public' | Role;

export const ALL_COLLECTIONS = '*';

export interface Principal {
  keyId: string | undefined; // undefined: authentication is off
  role: Role;
  collections: typeof ALL_COLLECTIONS | readonly string[];
}

/** Every request while authentication is off (no API_KEYS, no key in SQL). */
export const OPEN_ACCESS: Principal = Object.freeze({ keyId: undefined, role: 'admin', collections: ALL_COLLECTIONS });

export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export function canSeeCollection(principal: Principal, collection: string): boolean {
  return principal.collections === ALL_COLLECTIONS || principal.collections.includes(collection);
}

export function reachesAllCollections(principal: Principal): boolean {
  return principal.collections === ALL_COLLECTIONS;
}

/** The scope as stored and shown: ['*'] or the collection ids. */
export function scopeList(principal: Principal): string[] {
  return principal.collections === ALL_COLLECTIONS ? [ALL_COLLECTIONS] : [...principal.collections];
}

export function principalFromScope(keyId: string, role: Role, collections: readonly string[]): Principal {
  return { keyId, role, collections: collections.includes(ALL_COLLECTIONS) ? ALL_COLLECTIONS : [...collections] };
}

export function setPrincipal(res: Response, principal: Principal): void {
  res.locals['principal'] = principal;
}

/** The request's principal, set by the key check (auth.ts); a request that never passed it acts as nobody. */
export function principalOf(res: Response): Principal {
  const principal = res.locals['principal'] as Principal | undefined;
  return principal ?? { keyId: undefined, role: 'read', collections: [] };
}
