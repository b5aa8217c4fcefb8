/**
 * All SQL on API keys stored in the database (DESIGN.md §13; env API_KEYS never come here). A key
 * is found by the SHA-256 of the presented secret; the row holds its role and collection scope.
 * Every web process reads the same rows, so a key created or revoked through one is seen by all.
 */
import type { Knex } from 'knex';
import { fromJsonColumn, nowMs, toJsonColumn } from './columns.js';

export type KeyRole = 'read' | 'write' | 'admin';

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: KeyRole;
  collections: string[]; // ['*'] or collection ids
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  role: KeyRole;
  collections: unknown;
  created_at: number | string;
  revoked_at: number | string | null;
  last_used_at: number | string | null;
}

const COLUMNS = ['id', 'name', 'role', 'collections', 'created_at', 'revoked_at', 'last_used_at'] as const;

export async function insertApiKey(
  db: Knex,
  key: { id: string; secretHash: string; name: string; role: KeyRole; collections: string[] },
): Promise<ApiKeyRecord> {
  const row = {
    id: key.id,
    name: key.name,
    role: key.role,
    collections: toJsonColumn(key.collections),
    created_at: nowMs(),
    revoked_at: null,
    last_used_at: null,
  };
  await db('api_keys').insert({ ...row, secret_hash: key.secretHash });
  return toRecord(row);
}

/** The live (not revoked) key whose secret hashes to `secretHash`, or undefined. */
export async function findLiveApiKey(db: Knex, secretHash: string): Promise<(ApiKeyRecord & { secretHash: string }) | undefined> {
  const row = (await db('api_keys')
    .select([...COLUMNS, 'secret_hash'])
    .where({ secret_hash: secretHash })
    .whereNull('revoked_at')
    .first()) as (ApiKeyRow & { secret_hash: string }) | undefined;
  return row ? { ...toRecord(row), secretHash: row.secret_hash } : undefined;
}

/** Whether any key was ever stored, revoked ones included: once one was, authentication stays on. */
export async function hasStoredApiKeys(db: Knex): Promise<boolean> {
  return (await db('api_keys').select('id').first()) !== undefined;
}

/** Every stored key, revoked ones included, oldest first. */
export async function listApiKeys(db: Knex): Promise<ApiKeyRecord[]> {
  const rows = (await db('api_keys').select(COLUMNS).orderBy('created_at').orderBy('id')) as ApiKeyRow[];
  return rows.map(toRecord);
}

export async function findApiKey(db: Knex, id: string): Promise<ApiKeyRecord | undefined> {
  const row = (await db('api_keys').select(COLUMNS).where({ id }).first()) as ApiKeyRow | undefined;
  return row ? toRecord(row) : undefined;
}

/** Revokes a key (revoking it again keeps the first time); the record after it, or undefined when there is no such key. */
export async function revokeApiKey(db: Knex, id: string): Promise<ApiKeyRecord | undefined> {
  await db('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: nowMs() });
  return findApiKey(db, id);
}

export async function touchApiKey(db: Knex, id: string): Promise<void> {
  await db('api_keys').where({ id }).update({ last_used_at: nowMs() });
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  const time = (value: number | string | null) => (value === null ? null : new Date(Number(value)).toISOString());
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    collections: fromJsonColumn<string[]>(row.collections),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    revokedAt: time(row.revoked_at),
    lastUsedAt: time(row.last_used_at),
  };
}
