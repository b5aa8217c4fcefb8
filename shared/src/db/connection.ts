/**
 * Opens the database: SQLite (better-sqlite3, one file under DATA_DIR) by default, Postgres when
 * DATABASE_URL is postgres://. SQLite runs in WAL mode with a busy timeout, foreign keys and
 * synchronous (SQLITE_SYNCHRONOUS), and every transaction starts with BEGIN IMMEDIATE, so a read-then-write
 * transaction waits for the write lock instead of failing with SQLITE_BUSY under several processes.
 * The WAL is checkpointed on a timer (SQLITE_CHECKPOINT_INTERVAL_MS), not by commits: an automatic
 * checkpoint runs inside the COMMIT that crosses its size, holding the write lock while it copies
 * and syncs, and with readers keeping the WAL from restarting every later commit would try again.
 * Each connection prepares a statement once per text (statement-cache.ts).
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type PgModule from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { migrateLatest } from './migrate.js';
import { cacheStatements, type PreparingConnection } from './statement-cache.js';
import { dialectOf } from './where.js';

export type Db = Knex;
export { dialectOf, type WhereDialect as Dialect } from './where.js';

const SQLITE_BUSY_TIMEOUT_MS = 15_000;

export type DatabaseConfig = Pick<Config, 'DATABASE_URL' | 'DATABASE_SSL' | 'DATA_DIR' | 'DYNO' | 'SQLITE_SYNCHRONOUS' | 'SQLITE_CHECKPOINT_INTERVAL_MS'>;

export async function openDatabase(config: DatabaseConfig, logger: Logger, options = { migrate: true }): Promise<Db> {
  const db = config.DATABASE_URL ? openPostgres(config, config.DATABASE_URL) : openSqlite(config);
  await db.raw('select 1');
  if (options.migrate) await migrateLatest(db, logger);
  logger.info('database ready', { dialect: dialectOf(db), migrated: options.migrate });
  return db;
}

export function sqliteFile(dataDir: string): string {
  return path.join(dataDir, 'colmeia.sqlite');
}

function openSqlite({ DATA_DIR: dataDir, SQLITE_SYNCHRONOUS: synchronous, SQLITE_CHECKPOINT_INTERVAL_MS: checkpointMs }: DatabaseConfig): Db {
  mkdirSync(dataDir, { recursive: true });
  return knexFactory({
    client: immediateTransactionClient(),
    connection: { filename: sqliteFile(dataDir) },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate: (conn: SqliteConnection, done: (err: Error | null, conn: SqliteConnection) => void) => {
        conn.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`); // first: switching to WAL waits for a lock another process may hold
        conn.pragma('journal_mode = WAL');
        conn.pragma('foreign_keys = ON');
        conn.pragma(`synchronous = ${synchronous}`);
        conn.pragma('wal_autocheckpoint = 0');
        cacheStatements(conn);
        checkpointPeriodically(conn, checkpointMs);
        done(null, conn);
      },
    },
  });
}

interface SqliteConnection extends PreparingConnection {
  pragma(source: string): unknown;
  readonly open: boolean;
}

/**
 * A PASSIVE checkpoint of the WAL every `intervalMs` while the connection is open: it copies what no
 * reader still needs without waiting for any lock (so it never blocks the event loop on one), and a
 * busy database or an open transaction just leaves it to the next tick.
 */
function checkpointPeriodically(conn: SqliteConnection, intervalMs: number): void {
  const timer = setInterval(() => {
    if (!conn.open) {
      clearInterval(timer);
      return;
    }
    try {
      conn.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // busy or inside a transaction: the next tick checkpoints
    }
  }, intervalMs);
  timer.unref(); // never keeps a process alive
}

function openPostgres(config: DatabaseConfig, url: string): Db {
  const ssl = config.DATABASE_SSL ?? config.DYNO !== undefined;
  // Loaded only here, as knex loads it: a process on SQLite never loads the Postgres driver.
  const pg = createRequire(import.meta.url)('pg') as typeof PgModule;
  return knexFactory({
    client: 'pg',
    connection: {
      connectionString: url,
      ...(ssl ? { ssl: { rejectUnauthorized: false } } : {}),
      // int8 (seq, timestamps in ms) as JS numbers: every value we store stays below 2^53
      types: {
        getTypeParser: (oid: number, format: string): unknown =>
          oid === 20 ? parseInt8 : pg.types.getTypeParser(oid, format === 'binary' ? 'binary' : 'text'),
      },
    },
    pool: { min: 0, max: 10 },
  });
}

function parseInt8(value: string): number {
  return Number.parseInt(value, 10);
}

/**
 * knex's SQLite transactions begin with a deferred BEGIN; ours begin with BEGIN IMMEDIATE.
 * knex has no option for it, so the better-sqlite3 client is extended at its transaction factory.
 */
function immediateTransactionClient(): typeof Knex.Client {
  const require = createRequire(import.meta.url);
  const BetterSqliteClient = require('knex/lib/dialects/better-sqlite3/index.js') as new (...args: unknown[]) => object;
  const SqliteTransaction = require('knex/lib/dialects/sqlite3/execution/sqlite-transaction.js') as new (...args: unknown[]) => {
    query(conn: unknown, sql: string): Promise<unknown>;
  };

  class ImmediateTransaction extends SqliteTransaction {
    begin(conn: unknown): Promise<unknown> {
      return this.query(conn, 'BEGIN IMMEDIATE;');
    }
  }
  class ImmediateSqliteClient extends BetterSqliteClient {
    transaction(...args: unknown[]): unknown {
      return new ImmediateTransaction(this, ...args);
    }
  }
  return ImmediateSqliteClient as unknown as typeof Knex.Client;
}
