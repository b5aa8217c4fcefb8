/**
 * Statements on the hot paths (a search's reads, a chat message's insert), run on SQLite as
 * better-sqlite3 statements of fixed text, prepared once per connection (statement-cache.ts).
 * Through knex every call builds its SQL anew (query builder, compiler, bindings): measured ≈0.12–0.3
 * ms of CPU per small statement against ≈0.015 ms prepared. Inside a knex transaction the
 * transaction's own connection is used (knex lends it), so the statement is part of that
 * transaction. Postgres keeps the knex path.
 */
import type { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import { dialectOf } from './where.js';

interface Statement {
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): unknown;
}

interface SqliteHandle {
  prepare(sql: string): Statement;
}

/** The part of knex's client that lends connections: the pool's, or a transaction's own (typed any by knex). */
interface ConnectionLender {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

/** Whether `db` (a knex instance or transaction) runs prepared statements: SQLite. */
export function hasPreparedStatements(db: Knex): boolean {
  return dialectOf(db) === 'sqlite';
}

/** Every row of `sql` (fixed text, `?` parameters), prepared once for the connection it runs on. */
export async function preparedRows<T>(db: Knex, sql: string, params: readonly unknown[]): Promise<T[]> {
  return onConnection(db, (connection) => {
    announce(db, sql, params);
    return connection.prepare(sql).all(...params) as T[];
  });
}

/** Runs `sql` once per parameter list, in order, on one connection. */
export async function preparedRuns(db: Knex, sql: string, paramLists: ReadonlyArray<readonly unknown[]>): Promise<void> {
  await onConnection(db, (connection) => {
    const statement = connection.prepare(sql);
    for (const params of paramLists) {
      announce(db, sql, params);
      statement.run(...params);
    }
  });
}

/** knex's 'query' event, as for its own queries: whoever counts or traces queries sees these too. */
function announce(db: Knex, sql: string, params: readonly unknown[]): void {
  (db.client as EventEmitter).emit('query', { method: 'prepared', sql, bindings: params });
}

async function onConnection<T>(db: Knex, use: (connection: SqliteHandle) => T): Promise<T> {
  const lender = db.client as ConnectionLender;
  const connection = (await lender.acquireConnection()) as SqliteHandle;
  try {
    return use(connection);
  } finally {
    await lender.releaseConnection(connection);
  }
}
