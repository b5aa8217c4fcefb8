/**
 * All SQL on idempotency_keys. A key is claimed, the request's work done and its response recorded
 * in one transaction, so no reader ever sees a claimed key without its response: a concurrent retry
 * on Postgres waits on the key's unique index until the first commits, then reads what it answered.
 */
import type { Knex } from 'knex';
import { fromJsonColumn, nowMs, toJsonColumn } from './columns.js';

export interface IdempotencyRecord {
  requestHash: string;
  statusCode: number;
  response: unknown;
}

/**
 * Takes `key` for this transaction (expired keys are dropped first). Returns undefined when the key
 * is now ours (call completeIdempotencyKey before committing), or the record stored earlier.
 */
export async function claimIdempotencyKey(
  trx: Knex.Transaction,
  input: { key: string; requestHash: string; ttlMs: number },
): Promise<IdempotencyRecord | undefined> {
  const now = nowMs();
  await trx('idempotency_keys').where('expires_at', '<', now).delete();
  const placeholder = {
    key: input.key,
    request_hash: input.requestHash,
    status_code: 0,
    response: toJsonColumn(null),
    created_at: now,
    expires_at: now + input.ttlMs,
  };
  const claimed: Array<{ key: string }> = await trx('idempotency_keys').insert(placeholder).onConflict('key').ignore().returning(['key']);
  if (claimed.length > 0) return undefined;
  const row = (await trx('idempotency_keys').select('request_hash', 'status_code', 'response').where({ key: input.key }).first()) as
    { request_hash: string; status_code: number; response: unknown } | undefined;
  if (!row) throw new Error('idempotency key was neither claimed nor found');
  return { requestHash: row.request_hash, statusCode: row.status_code, response: fromJsonColumn(row.response) };
}

export async function completeIdempotencyKey(trx: Knex.Transaction, key: string, statusCode: number, response: unknown): Promise<void> {
  await trx('idempotency_keys')
    .where({ key })
    .update({ status_code: statusCode, response: toJsonColumn(response) });
}
