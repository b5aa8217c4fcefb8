/**
 * Reading declared metadata fields out of SQL for the worker's payload index, the fields alone and
 * not the whole JSON: one expression per field that yields the JSON text of the value the `where`
 * path resolves to, or SQL NULL when the field is missing. The paths walk objects only, as in
 * where.ts (SQLite `->` with an object-key path; Postgres a strict jsonpath, silent), so a value
 * read here is the one matchesWhere would resolve from the same metadata.
 */
import { MISSING, type WherePath, type WhereDialect } from './where.js';

const SEGMENT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A SQL expression (knex raw: ?? the trusted column, ? the path) for the JSON text of `path`, NULL when missing. */
export function fieldTextSql(dialect: WhereDialect, column: string, path: WherePath): { sql: string; bindings: string[] } {
  if (path.length === 0 || !path.every((segment) => SEGMENT_PATTERN.test(segment))) throw new TypeError('bad field path');
  const keys = path.map((segment) => `.${JSON.stringify(segment)}`).join('');
  // A JSON null is the text 'null', a missing field SQL NULL: the cast keeps the two apart.
  if (dialect === 'postgres') return { sql: `(jsonb_path_query_first(??, ?::jsonpath, '{}'::jsonb, true))::text`, bindings: [column, `strict $${keys}`] };
  return { sql: `(?? -> ?)`, bindings: [column, `$${keys}`] };
}

/** The value a fieldTextSql column holds: the parsed JSON, or MISSING for SQL NULL. */
export function parseFieldText(text: unknown): unknown {
  if (text === null || text === undefined) return MISSING;
  if (typeof text !== 'string') throw new TypeError('a payload field column is not text');
  return JSON.parse(text) as unknown;
}
