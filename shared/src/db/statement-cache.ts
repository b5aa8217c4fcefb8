/**
 * SQLite statements prepared once per connection. knex asks better-sqlite3 to prepare every query it
 * runs, and preparing costs more than running a small statement (measured: prepare was 4–5 % of a
 * worker's busy time during ingest, for statements whose text repeats: a commit's deletes and
 * inserts, the log reads, BEGIN and COMMIT). cacheStatements makes the connection's prepare()
 * return the statement it prepared before for the same text, the least recently used of at most
 * `capacity` texts giving way (multi-row inserts make one text per row count). A cached statement
 * is safe to share: every use runs to completion at once (all() and run() are synchronous, and
 * nothing iterates), and SQLite prepares it again by itself after a schema change.
 */
export interface PreparingConnection {
  prepare(sql: string): unknown;
}

export const STATEMENT_CACHE_SIZE = 500;

export function cacheStatements(connection: PreparingConnection, capacity = STATEMENT_CACHE_SIZE): void {
  const prepareAnew = connection.prepare.bind(connection);
  const cache = new Map<string, unknown>();
  connection.prepare = (sql: string) => {
    const cached = cache.get(sql);
    if (cached !== undefined) {
      cache.delete(sql); // to the end: the most recently used
      cache.set(sql, cached);
      return cached;
    }
    const statement = prepareAnew(sql);
    cache.set(sql, statement);
    if (cache.size > capacity) cache.delete(cache.keys().next().value as string);
    return statement;
  };
}
