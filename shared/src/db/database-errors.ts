/**
 * Tells a database that is away (Postgres refusing or dropping connections, shutting down, out of
 * connection slots; SQLite whose file cannot be written, read or locked) from a bug in a query. The
 * API answers the first with a 503 a client may retry; the second stays a 500. Drivers and knex
 * wrap one another (`cause`, AggregateError's `errors`), so the whole chain is searched.
 */

/** Socket and DNS failures as pg reports them when it cannot reach, or loses, the server. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * SQLSTATEs of a server that is going or gone: class 08 (connection exception) is matched by its prefix;
 * 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up), 53300 too many connections.
 */
const SQLSTATE_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
const SQLSTATE_CONNECTION_CLASS = /^08[0-9A-Z]{3}$/;

/** better-sqlite3's SqliteError codes, extended ones included (SQLITE_IOERR_WRITE, SQLITE_BUSY_SNAPSHOT, ...). */
const SQLITE_CODE = /^SQLITE_(FULL|BUSY|IOERR|CANTOPEN|READONLY|LOCKED)(_[A-Z_]+)?$/;

/**
 * pg's messages for a socket that closed under a client, or a connect that timed out: they carry no
 * code. A failed query's message is prefixed by knex with its SQL and ` - `. The second: a statement
 * on a client whose socket failed.
 */
const PG_TERMINATED = /(?:^| - )Connection terminated\b|Client has encountered a connection error and is not queryable/;
const KNEX_ACQUIRE_TIMEOUT = /Timeout acquiring a connection/;

const MAX_DEPTH = 8; // a chain deeper than this is not a driver's wrapping

export function isDatabaseUnavailable(err: unknown): boolean {
  return someInChain(err, isUnavailableItself, new Set(), 0);
}

function isUnavailableItself(err: object): boolean {
  const { code, name, message } = err as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SQLSTATE_CODES.has(code) || SQLSTATE_CONNECTION_CLASS.test(code)) return true;
    if (SQLITE_CODE.test(code)) return true;
  }
  if (typeof message !== 'string') return false;
  // A query timeout is a KnexTimeoutError too, but says nothing about the database being away.
  if (name === 'KnexTimeoutError') return KNEX_ACQUIRE_TIMEOUT.test(message);
  return PG_TERMINATED.test(message);
}

function someInChain(err: unknown, test: (err: object) => boolean, seen: Set<object>, depth: number): boolean {
  if (typeof err !== 'object' || err === null || seen.has(err) || depth > MAX_DEPTH) return false;
  seen.add(err);
  if (test(err)) return true;
  const { cause, errors } = err as { cause?: unknown; errors?: unknown };
  if (someInChain(cause, test, seen, depth + 1)) return true;
  return Array.isArray(errors) && errors.some((inner) => someInChain(inner, test, seen, depth + 1));
}
