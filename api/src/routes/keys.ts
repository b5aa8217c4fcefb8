/**
 * API keys stored in SQL (DESIGN.md §13): POST /keys makes one (its secret is answered once; SQL
 * keeps only its SHA-256), GET /keys lists them without secrets, DELETE /keys/:id revokes one, from
 * that moment on every web process (key-store.ts). Admin only. An admin key over some collections
 * makes, lists and revokes keys within them only: a key cannot make a key that reaches further.
 */
import { Router } from 'express';
import { z } from 'zod';
import { findApiKey, insertApiKey, listApiKeys, revokeApiKey, type ApiKeyRecord } from '../../../shared/src/db/api-keys-repo.js';
import { findCollection } from '../../../shared/src/db/collections-repo.js';
import type { Config } from '../../../shared/src/config.js';
import { ForbiddenError, NotFoundError } from '../../../shared/src/errors.js';
import { CollectionId, nonBlankText } from '../../../shared/src/input.js';
import { parse } from '../../../shared/src/validation.js';
import { ALL_COLLECTIONS, canSeeCollection, principalOf, reachesAllCollections, ROLES, type Principal, type Role } from '../http/access.js';
import { generateApiKey } from '../http/key-store.js';
import type { ApiServices } from '../services.js';

/** The key routes' request schemas; the route registry describes these same ones. */
export function createKeySchemas(config: Pick<Config, 'MAX_TITLE_CHARS' | 'MAX_API_KEY_COLLECTIONS'>) {
  const KeyInput = z.strictObject({
    name: nonBlankText(config.MAX_TITLE_CHARS).describe('what the key is for, to tell keys apart'),
    role: z.enum(ROLES as [Role, ...Role[]]),
    collections: z
      .array(z.union([z.literal(ALL_COLLECTIONS), CollectionId]))
      .min(1)
      .max(config.MAX_API_KEY_COLLECTIONS)
      .describe('["*"]: every collection, those created later too; else ids of existing collections'),
  });
  const KeyParams = z.strictObject({ id: z.string().regex(/^key_[0-9a-f]{24}$/, 'must be a key id (key_ and 24 hex digits)') });
  return { KeyInput, KeyParams };
}

export function keysRouter(s: ApiServices): Router {
  const router = Router();
  const { KeyInput, KeyParams } = createKeySchemas(s.config);

  router.post('/keys', async (req, res) => {
    const input = parse(KeyInput, req.body, 'key');
    const principal = principalOf(res);
    const collections = await grantableScope(s, principal, input.collections);
    const { id, secret, secretHash } = generateApiKey();
    const key = await insertApiKey(s.db, { id, secretHash, name: input.name, role: input.role, collections });
    res.status(201).json({ key, secret });
  });

  router.get('/keys', async (_req, res) => {
    const principal = principalOf(res);
    res.json({ keys: (await listApiKeys(s.db)).filter((key) => isWithin(principal, key)) });
  });

  router.delete('/keys/:id', async (req, res) => {
    const { id } = parse(KeyParams, { ...req.params }, 'key');
    const key = await findApiKey(s.db, id);
    if (!key || !isWithin(principalOf(res), key)) throw new NotFoundError(`key ${id} not found`);
    res.json(await revokeApiKey(s.db, id));
  });
  return router;
}

/** The scope as stored: ['*'], or the named collections, each one existing and within the caller's own scope (else it is not found). */
async function grantableScope(s: Pick<ApiServices, 'db'>, principal: Principal, requested: string[]): Promise<string[]> {
  if (requested.includes(ALL_COLLECTIONS)) {
    if (!reachesAllCollections(principal)) throw new ForbiddenError('only a key over every collection can make a key over every collection');
    return [ALL_COLLECTIONS];
  }
  const unique = [...new Set(requested)];
  for (const id of unique) {
    const collection = canSeeCollection(principal, id) ? await findCollection(s.db, id) : undefined;
    if (!collection || collection.status !== 'active') throw new NotFoundError(`collection ${id} not found`);
  }
  return unique;
}

/** Whether a stored key lies within the caller's scope (a key over every collection is within a key over every collection only). */
function isWithin(principal: Principal, key: ApiKeyRecord): boolean {
  return reachesAllCollections(principal) || key.collections.every((c) => c !== ALL_COLLECTIONS && canSeeCollection(principal, c));
}
