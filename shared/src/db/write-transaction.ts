/**
 * Every transaction that appends to vector_log goes through here. On Postgres it first takes one
 * advisory lock, so commits happen in seq order and a reader that has seen seq N has seen every
 * seq below N. On SQLite the write lock (BEGIN IMMEDIATE) already serialises writers.
 */
import type { Knex } from 'knex';
import { dialectOf } from './connection.js';

const VECTOR_LOG_LOCK = 0x636f6c6d; // "colm"

export async function logWriteTransaction<T>(db: Knex, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  const isPostgres = dialectOf(db) === 'postgres';
  return db.transaction(async (trx) => {
    if (isPostgres) await trx.raw('select pg_advisory_xact_lock(?)', [VECTOR_LOG_LOCK]);
    return work(trx);
  });
}
