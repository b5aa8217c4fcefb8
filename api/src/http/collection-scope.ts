/**
 * Which collection a request is about. The documents, search and chat routers serve each route
 * twice: un-prefixed (the default collection's, as before collections existed) and under
 * /collections/:collection. An unknown collection, or one being deleted, is a 404 naming it.
 */
import type { Request } from 'express';
import type { Knex } from 'knex';
import { findCollection } from '../../../shared/src/db/collections-repo.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import { CollectionId, DEFAULT_COLLECTION } from '../../../shared/src/input.js';
import { parse } from '../../../shared/src/validation.js';

/** The path prefixes every collection-scoped route is served under. */
export const COLLECTION_PREFIXES = ['', '/collections/:collection'] as const;

/** The collection named by the path, checked to exist; the default one (always there) costs no query. */
export async function collectionOf(s: { db: Knex }, req: Request): Promise<string> {
  const raw = req.params['collection'];
  if (raw === undefined) return DEFAULT_COLLECTION;
  const id = parse(CollectionId, raw, 'collection id');
  if (id === DEFAULT_COLLECTION) return id;
  const collection = await findCollection(s.db, id);
  if (!collection || collection.status !== 'active') throw new NotFoundError(`collection ${id} not found`);
  return id;
}
