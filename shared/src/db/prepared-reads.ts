/**
 * Reads on the search path, run on SQLite as better-sqlite3 statements prepared once per
 * connection. Through knex every call builds its SQL anew (query builder, compiler, bindings) and
 * better-sqlite3 prepares it again: ≈0.4 ms per search for one small SELECT. Postgres, and SQLite
 * inside a transaction (which holds the pool's one connection), keep the knex path.
 */
import type { Knex } from 'knex';
import { dialectOf } from './where.js';

interface Statement {
  all(...params: unknown[]): unknown[];
}

interface SqliteHandle {
  prepare(sql: string): Statement;
}

/** The part of knex's client that lends the pool's connections (typed any by knex). */
interface ConnectionLender {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

const statementsOf = new WeakMap<object, Map<string, Statement>>();

/** Whether `db` runs prepared reads: SQLite, outside a transaction. */
export function hasPreparedReads(db: Knex): boolean {
  return dialectOf(db) === 'sqlite' && !db.isTransaction;
}

/** Every row of `sql` (fixed text, `?` parameters) on one of the pool's connections, prepared once for that connection. */
export async function preparedRows<T>(db: Knex, sql: string, params: readonly unknown[]): Promise<T[]> {
  const lender = db.client as ConnectionLender;
  const connection = (await lender.acquireConnection()) as SqliteHandle;
  try {
    let statements = statementsOf.get(connection);
    if (!statements) {
      statements = new Map();
      statementsOf.set(connection, statements);
    }
    let statement = statements.get(sql);
    if (!statement) {
      statement = connection.prepare(sql);
      statements.set(sql, statement);
    }
    return statement.all(...params) as T[];
  } finally {
    await lender.releaseConnection(connection);
  }
}
