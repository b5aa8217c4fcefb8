/**
 * The `where` filter language: parsed by a zod schema into a small AST, compiled to
 * SQL in which every value and every JSON path is a bound parameter, and evaluated in plain
 * TypeScript by matchesWhere, the reference the SQL must agree with on SQLite and on Postgres.
 *
 * Grammar: `{field: v}` (= $eq), `{field: {$eq|$ne|$gt|$gte|$lt|$lte: v}}`, `{field: {$in|$nin: [v…]}}`,
 * `{field: {$exists: true|false}}`, `{field: {$contains: v}}`, `{field: {$not: {operators…}}}`,
 * `{$and: [filter…]}`, `{$or: [filter…]}`, `{$not: filter}`. Several keys in one object, or several operators on one
 * field, are ANDed. `{}` matches everything; a filter inside $and/$or must hold a condition.
 * A field matches ^[A-Za-z0-9_.-]{1,64}$ and a dot means nesting (`author.name`); empty segments are
 * refused. Values are JSON scalars: string (no NUL, no lone surrogate), finite number, boolean, null.
 *
 * Semantics, identical in matchesWhere, SQLite and Postgres:
 * - A path walks JSON objects only: it never indexes into an array (`tags.0` is missing) and a
 *   non-object on the way means the field is missing. `__proto__` & co. are ordinary keys (own
 *   properties only; nothing is ever merged into an object).
 * - $eq is strict JSON equality of scalars: a number equals the same number (1 = 1.0), a string the
 *   same string (exact code points), true only true, null only an explicit null. A missing field,
 *   an array or an object never equals anything: `{tags: "x"}` does not match `tags: ["x"]`.
 * - $in is "$eq to one of the values"; an empty $in matches nothing.
 * - $ne is exactly NOT $eq and $nin exactly NOT $in, so they match missing fields, other types,
 *   arrays and objects (MongoDB-like). `{f: {$ne: null}}` therefore matches a missing f.
 * - $exists: true matches a field that is present, whatever its value (null, a list and an object
 *   included); false exactly the others.
 * - $contains matches a list (a JSON array) holding an element $eq to the value; anything that is
 *   not a list never matches (`{tags: {$contains: "x"}}` does not match `tags: "x"`).
 * - $not (on a field's operators, or on a whole filter) is exactly NOT what it holds, so it matches
 *   missing fields too: `{n: {$not: {$gt: 1}}}` matches a missing n, as $ne does.
 * - $gt/$gte/$lt/$lte take a number or a string. Numbers compare numerically with numbers; strings
 *   compare with strings by Unicode code point (= UTF-8 byte order; SQLite BINARY, Postgres
 *   COLLATE "C"). Other types, null and missing never match.
 * Numbers are assumed to be stored as JSON.stringify writes them (the API always does), so the
 * decimal text in the database is the shortest one that round-trips to the same double.
 */
import type { Knex } from 'knex';
import { z } from 'zod';

export type WhereScalar = string | number | boolean | null;
export type WherePath = readonly string[];

export type WhereAst =
  | { readonly kind: 'and' | 'or'; readonly clauses: readonly WhereAst[] } // 'and' of [] matches all
  | { readonly kind: 'eq' | 'ne'; readonly path: WherePath; readonly value: WhereScalar }
  | { readonly kind: 'gt' | 'gte' | 'lt' | 'lte'; readonly path: WherePath; readonly value: string | number }
  | { readonly kind: 'in' | 'nin'; readonly path: WherePath; readonly values: readonly WhereScalar[] }
  | { readonly kind: 'exists'; readonly path: WherePath }
  | { readonly kind: 'contains'; readonly path: WherePath; readonly value: WhereScalar }
  | { readonly kind: 'not'; readonly clause: WhereAst };
export type Where = WhereAst;

export interface WhereLimits {
  maxDepth: number; // levels of $and/$or/$not
  maxConditions: number; // field conditions in the whole filter ({a: {$gt: 1, $lt: 5}} is two)
  maxInList: number; // values in one $in/$nin
}

export type WhereDialect = 'sqlite' | 'postgres';

export const FIELD_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const SEGMENT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_ISSUES = 20; // stop reporting (and walking) after this many problems
const FIELD_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$contains', '$not']);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A zod schema that turns a client's filter (already JSON-parsed) into a WhereAst within `limits`. */
export function createWhereSchema(limits: WhereLimits) {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`where limit ${name} must be a non-negative integer`);
  }
  return z.unknown().transform((input, ctx): WhereAst => {
    const parser = new FilterParser(limits);
    const ast = parser.parseFilter(input, [], 0, true);
    for (const issue of parser.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: issue.input, params: { rule: issue.rule } });
    }
    return parser.issues.length > 0 ? z.NEVER : ast;
  });
}

/** Adds the filter to `query` as one parenthesised WHERE term with bound parameters only. */
export function applyWhere<TRecord extends object, TResult>(
  query: Knex.QueryBuilder<TRecord, TResult>,
  where: WhereAst,
  column: string,
  dialect: WhereDialect,
): Knex.QueryBuilder<TRecord, TResult> {
  const { sql, bindings } = compileWhere(where, column, dialect);
  return query.whereRaw(sql, bindings);
}

export interface SqlFragment {
  sql: string; // knex raw syntax: ?? is the trusted column, ? a bound value
  bindings: Array<string | number>;
}

/** The SQL of applyWhere, for raw queries. `column` is a trusted identifier such as 'chunks.metadata'. */
export function compileWhere(where: WhereAst, column: string, dialect: WhereDialect): SqlFragment {
  if (dialect !== 'postgres' && dialect !== 'sqlite') throw new TypeError(`unknown SQL dialect ${String(dialect)}`);
  const compiler = dialect === 'postgres' ? new PostgresCompiler(column) : new SqliteCompiler(column);
  const sql = compiler.compile(where);
  return { sql: `(${sql})`, bindings: compiler.bindings };
}

/** Which SQL flavour a knex instance (or transaction) speaks. */
export function dialectOf(db: Knex): WhereDialect {
  const client = db.client as Knex.Client; // typed any by knex
  if (client.dialect === 'postgresql') return 'postgres';
  if (client.dialect === 'sqlite3') return 'sqlite';
  throw new TypeError(`unsupported knex dialect ${client.dialect}`);
}

/** The reference evaluator: same semantics as the SQL, over a parsed metadata value. */
export function matchesWhere(metadata: unknown, where: WhereAst): boolean {
  return evaluateWhere(where, (path) => resolvePath(metadata, path));
}

/**
 * matchesWhere over values found some other way: `resolve` gives a path's value, or MISSING. The
 * worker's payload index evaluates filters with it, from the values it keeps per declared field,
 * so both read one definition of the semantics.
 */
export function evaluateWhere(where: WhereAst, resolve: (path: WherePath) => unknown): boolean {
  switch (where.kind) {
    case 'and':
      return where.clauses.every((clause) => evaluateWhere(clause, resolve));
    case 'or':
      return where.clauses.some((clause) => evaluateWhere(clause, resolve));
    case 'eq':
      return resolve(where.path) === where.value;
    case 'ne':
      return resolve(where.path) !== where.value;
    case 'in':
    case 'nin': {
      const actual = resolve(where.path);
      return where.values.some((value) => value === actual) === (where.kind === 'in');
    }
    case 'exists':
      return resolve(where.path) !== MISSING;
    case 'contains': {
      const actual = resolve(where.path);
      return Array.isArray(actual) && actual.some((item) => item === where.value);
    }
    case 'not':
      return !evaluateWhere(where.clause, resolve);
    default:
      return matchesRange(resolve(where.path), where.kind, where.value);
  }
}

/** Compares two strings by Unicode code point (UTF-16 code-unit order differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface FilterIssue {
  path: Array<string | number>;
  rule: string;
  message: string;
  input: unknown;
}

type IssuePath = Array<string | number>;

class FilterParser {
  readonly issues: FilterIssue[] = [];
  private conditions = 0;
  private stopped = false;

  constructor(private readonly limits: WhereLimits) {}

  parseFilter(input: unknown, path: IssuePath, depth: number, isRoot: boolean): WhereAst {
    if (!isPlainObject(input)) return this.fail(path, 'filter_object', 'a filter must be an object such as {"field": value}', input);
    const keys = Object.keys(input);
    if (keys.length === 0 && !isRoot) return this.fail(path, 'empty_filter', 'a filter inside $and/$or needs at least one condition', input);
    const clauses: WhereAst[] = [];
    for (const key of keys) {
      if (this.stopped) break;
      const value = ownValue(input, key);
      if (key === '$and' || key === '$or') clauses.push(this.parseLogical(key, value, [...path, key], depth + 1));
      else if (key === '$not') clauses.push(this.parseNot(value, [...path, key], depth + 1));
      else if (!key.startsWith('$')) clauses.push(...this.parseField(key, value, [...path, key]));
      else this.fail([...path, key], 'unknown_operator', `unknown operator ${quote(key)}: use a field name, $and, $or or $not`, undefined);
    }
    return clauses.length === 1 && clauses[0] ? clauses[0] : { kind: 'and', clauses };
  }

  private parseLogical(op: '$and' | '$or', input: unknown, path: IssuePath, depth: number): WhereAst {
    const kind = op === '$and' ? 'and' : 'or';
    if (depth > this.limits.maxDepth) {
      return this.fail(path, 'max_depth', `max_depth: $and/$or may be nested at most ${this.limits.maxDepth} levels deep`, undefined);
    }
    if (!Array.isArray(input) || input.length === 0) return this.fail(path, 'filter_list', `${op} needs a non-empty list of filters`, input);
    const clauses: WhereAst[] = [];
    for (let i = 0; i < input.length && !this.stopped; i++) clauses.push(this.parseFilter(input[i], [...path, i], depth, false));
    return { kind, clauses };
  }

  /** `{$not: filter}`: a level of nesting like $and/$or. */
  private parseNot(input: unknown, path: IssuePath, depth: number): WhereAst {
    if (depth > this.limits.maxDepth) {
      return this.fail(path, 'max_depth', `max_depth: $and/$or/$not may be nested at most ${this.limits.maxDepth} levels deep`, undefined);
    }
    if (!isPlainObject(input) || Object.keys(input).length === 0)
      return this.fail(path, 'not_operand', '$not needs a filter with at least one condition', input);
    return { kind: 'not', clause: this.parseFilter(input, path, depth, false) };
  }

  private parseField(field: string, input: unknown, path: IssuePath): WhereAst[] {
    const fieldPath = this.parseFieldName(field, path);
    if (!fieldPath) return [];
    if (!isPlainObject(input)) return this.condition('$eq', fieldPath, input, path);
    return this.parseOperators(fieldPath, input, path, 0);
  }

  /** A field's operator object; `notDepth` counts the $not it is inside, which nest like $and/$or. */
  private parseOperators(fieldPath: string[], input: Record<string, unknown>, path: IssuePath, notDepth: number): WhereAst[] {
    const ops = Object.keys(input);
    if (ops.length === 0 || ops.some((op) => !op.startsWith('$'))) {
      this.fail(path, 'object_value', 'objects are not values: use an operator ({"$eq": v}) or a dotted field name for nested keys', input);
      return [];
    }
    const out: WhereAst[] = [];
    for (const op of ops) {
      if (this.stopped) break;
      const value = ownValue(input, op);
      if (!FIELD_OPERATORS.has(op)) {
        this.fail([...path, op], 'unknown_operator', `unknown operator ${quote(op)}: use one of ${[...FIELD_OPERATORS].join(', ')}`, undefined);
      } else if (op === '$not') out.push(...this.fieldNot(fieldPath, value, [...path, op], notDepth + 1));
      else out.push(...this.condition(op, fieldPath, value, [...path, op]));
    }
    return out;
  }

  private fieldNot(fieldPath: string[], input: unknown, path: IssuePath, notDepth: number): WhereAst[] {
    if (notDepth > this.limits.maxDepth) {
      this.fail(path, 'max_depth', `max_depth: $and/$or/$not may be nested at most ${this.limits.maxDepth} levels deep`, undefined);
      return [];
    }
    if (!isPlainObject(input)) {
      this.fail(path, 'not_operand', '$not on a field needs an object of operators, such as {"$not": {"$gt": 5}}', input);
      return [];
    }
    const inner = this.parseOperators(fieldPath, input, path, notDepth);
    if (inner.length === 0) return [];
    return [{ kind: 'not', clause: inner.length === 1 && inner[0] ? inner[0] : { kind: 'and', clauses: inner } }];
  }

  private parseFieldName(field: string, path: IssuePath): string[] | undefined {
    if (!FIELD_NAME_PATTERN.test(field)) {
      this.fail(path, 'field_name', `field names must match ${FIELD_NAME_PATTERN.source}`, field);
      return undefined;
    }
    const segments = field.split('.');
    if (segments.some((segment) => segment === '')) {
      this.fail(path, 'field_path', 'field names must not have empty segments (leading, trailing or doubled dots)', field);
      return undefined;
    }
    return segments;
  }

  private condition(op: string, fieldPath: string[], input: unknown, path: IssuePath): WhereAst[] {
    if (++this.conditions > this.limits.maxConditions) {
      this.fail(path, 'max_conditions', `max_conditions: a filter may hold at most ${this.limits.maxConditions} field conditions`, undefined);
      this.stopped = true;
      return [];
    }
    if (op === '$in' || op === '$nin') return this.listCondition(op === '$in' ? 'in' : 'nin', fieldPath, input, path);
    if (op === '$exists') {
      if (typeof input !== 'boolean') {
        this.fail(path, 'boolean', '$exists takes true or false', input);
        return [];
      }
      const exists: WhereAst = { kind: 'exists', path: fieldPath };
      return [input ? exists : { kind: 'not', clause: exists }];
    }
    if (op === '$contains') {
      const value = this.scalar(input, path);
      return value ? [{ kind: 'contains', path: fieldPath, value: value.value }] : [];
    }
    if (op === '$eq' || op === '$ne') {
      const value = this.scalar(input, path);
      return value ? [{ kind: op === '$eq' ? 'eq' : 'ne', path: fieldPath, value: value.value }] : [];
    }
    const kind = op === '$gt' ? 'gt' : op === '$gte' ? 'gte' : op === '$lt' ? 'lt' : 'lte';
    if (typeof input !== 'number' && typeof input !== 'string') {
      this.fail(path, 'range_value', `${op} compares a number or a string`, undefined);
      return [];
    }
    return this.scalar(input, path) ? [{ kind, path: fieldPath, value: input === 0 ? 0 : input }] : [];
  }

  private listCondition(kind: 'in' | 'nin', fieldPath: string[], input: unknown, path: IssuePath): WhereAst[] {
    if (!Array.isArray(input)) {
      this.fail(path, 'value_list', `$${kind} needs a list of values`, input);
      return [];
    }
    if (input.length > this.limits.maxInList) {
      this.fail(path, 'max_in_list', `max_in_list: $${kind} may list at most ${this.limits.maxInList} values (got ${input.length})`, undefined);
      return [];
    }
    const values: WhereScalar[] = [];
    for (let i = 0; i < input.length && !this.stopped; i++) {
      const value = this.scalar(input[i], [...path, i]);
      if (value) values.push(value.value);
    }
    return [{ kind, path: fieldPath, values }];
  }

  private scalar(input: unknown, path: IssuePath): { value: WhereScalar } | undefined {
    if (input === null || typeof input === 'boolean') return { value: input };
    if (typeof input === 'number') {
      if (Number.isFinite(input)) return { value: input === 0 ? 0 : input }; // -0 is 0 in JSON
      this.fail(path, 'finite', 'numbers must be finite', String(input));
      return undefined;
    }
    if (typeof input === 'string') {
      if (input.includes('\u0000')) this.fail(path, 'no_nul', 'strings must not contain NUL (\\u0000)', input);
      else if (LONE_SURROGATE.test(input)) this.fail(path, 'well_formed_unicode', 'strings must not contain lone UTF-16 surrogates', input);
      else return { value: input };
      return undefined;
    }
    const what = Array.isArray(input) ? 'a list (use $in)' : typeof input === 'object' ? 'an object' : typeof input;
    this.fail(path, 'scalar', `values must be a string, a finite number, a boolean or null, not ${what}`, undefined);
    return undefined;
  }

  private fail(path: IssuePath, rule: string, message: string, input: unknown): WhereAst {
    this.issues.push({ path, rule, message, input });
    if (this.issues.length >= MAX_ISSUES) this.stopped = true;
    return { kind: 'and', clauses: [] };
  }
}

// ---------------------------------------------------------------------------------------------
// SQL

type RangeKind = 'gt' | 'gte' | 'lt' | 'lte';
const RANGE_SQL: Record<RangeKind, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** Shared walk; the dialects differ only in how one field condition is written. */
abstract class WhereCompiler {
  readonly bindings: Array<string | number> = [];

  constructor(protected readonly column: string) {}

  compile(node: WhereAst): string {
    switch (node.kind) {
      case 'and':
      case 'or': {
        if (node.clauses.length === 0) return node.kind === 'and' ? '(1 = 1)' : '(1 = 0)';
        return `(${node.clauses.map((clause) => this.compile(clause)).join(node.kind === 'and' ? ' AND ' : ' OR ')})`;
      }
      case 'eq':
        return this.equals(checkPath(node.path), checkScalar(node.value));
      case 'ne':
        return `(NOT ${this.equals(checkPath(node.path), checkScalar(node.value))})`;
      case 'in':
        return this.oneOf(checkPath(node.path), checkList(node.values));
      case 'nin':
        return `(NOT ${this.oneOf(checkPath(node.path), checkList(node.values))})`;
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        return this.range(checkPath(node.path), node.kind, checkRangeValue(node.value));
      case 'exists':
        return this.exists(checkPath(node.path));
      case 'contains':
        return this.contains(checkPath(node.path), checkScalar(node.value));
      case 'not':
        return `(NOT ${this.compile(checkClause(node.clause))})`;
      default:
        throw new TypeError(`malformed where filter: unknown node ${JSON.stringify((node as { kind?: unknown }).kind)}`);
    }
  }

  /** Appends bindings and returns the text unchanged, so SQL reads in order. */
  protected bind(sql: string, ...values: Array<string | number>): string {
    this.bindings.push(...values);
    return sql;
  }

  // Each must be two-valued (never SQL NULL), since ne/nin negate them.
  protected abstract equals(path: WherePath, value: WhereScalar): string;
  protected abstract oneOf(path: WherePath, values: readonly WhereScalar[]): string;
  protected abstract range(path: WherePath, kind: RangeKind, value: string | number): string;
  protected abstract exists(path: WherePath): string;
  protected abstract contains(path: WherePath, value: WhereScalar): string;
}

/** SQLite: TEXT JSON; json_type tells integer/real/text/true/false/null, json_extract gives SQL values. */
class SqliteCompiler extends WhereCompiler {
  private type(path: WherePath): string {
    return this.bind(`coalesce(json_type(??, ?), 'missing')`, this.column, sqlitePath(path));
  }

  private value(path: WherePath): string {
    return this.bind('json_extract(??, ?)', this.column, sqlitePath(path));
  }

  protected equals(path: WherePath, value: WhereScalar): string {
    if (typeof value === 'string') return `(${this.type(path)} = 'text' AND ${this.value(path)} = ${this.bind('?', value)})`;
    if (typeof value === 'number') return `(${this.type(path)} IN ('integer', 'real') AND ${this.value(path)} = ${this.bind('?', value)})`;
    return `(${this.type(path)} = ${this.bind('?', String(value))})`; // 'true', 'false' or 'null'
  }

  protected oneOf(path: WherePath, values: readonly WhereScalar[]): string {
    const strings = values.filter((v) => typeof v === 'string');
    const numbers = values.filter((v) => typeof v === 'number');
    const others = values.filter((v) => typeof v !== 'string' && typeof v !== 'number').map(String);
    const terms: string[] = [];
    const list = (items: readonly WhereScalar[]) => this.bind('IN (SELECT value FROM json_each(?))', JSON.stringify(items)); // one binding per list
    if (strings.length > 0) terms.push(`(${this.type(path)} = 'text' AND ${this.value(path)} ${list(strings)})`);
    if (numbers.length > 0) terms.push(`(${this.type(path)} IN ('integer', 'real') AND ${this.value(path)} ${list(numbers)})`);
    if (others.length > 0) terms.push(`(${this.type(path)} ${list(others)})`); // json_type names: 'true', 'false', 'null'
    return terms.length === 0 ? '(1 = 0)' : `(${terms.join(' OR ')})`;
  }

  protected range(path: WherePath, kind: RangeKind, value: string | number): string {
    const types = typeof value === 'string' ? `= 'text'` : `IN ('integer', 'real')`;
    return `(${this.type(path)} ${types} AND ${this.value(path)} ${RANGE_SQL[kind]} ${this.bind('?', value)})`;
  }

  protected exists(path: WherePath): string {
    return `(${this.type(path)} <> 'missing')`;
  }

  /** json_each over a scalar yields the scalar itself: hence the array check first. */
  protected contains(path: WherePath, value: WhereScalar): string {
    const isArray = `${this.type(path)} = 'array'`;
    const elements = this.bind('json_each(??, ?)', this.column, sqlitePath(path));
    let match: string;
    if (typeof value === 'string') match = `e.type = 'text' AND e.value = ${this.bind('?', value)}`;
    else if (typeof value === 'number') match = `e.type IN ('integer', 'real') AND e.value = ${this.bind('?', value)}`;
    else match = `e.type = ${this.bind('?', String(value))}`; // 'true', 'false' or 'null'
    return `(${isArray} AND EXISTS (SELECT 1 FROM ${elements} AS e WHERE ${match}))`;
  }
}

/** Postgres: jsonb; a strict jsonpath never steps into arrays, and jsonb equality is type-aware. */
class PostgresCompiler extends WhereCompiler {
  private value(path: WherePath): string {
    return this.bind(`jsonb_path_query_first(??, ?::jsonpath, '{}'::jsonb, true)`, this.column, postgresPath(path));
  }

  protected equals(path: WherePath, value: WhereScalar): string {
    return `coalesce(${this.value(path)} = ${this.bind('?::jsonb', JSON.stringify(value))}, false)`;
  }

  protected oneOf(path: WherePath, values: readonly WhereScalar[]): string {
    if (values.length === 0) return '(1 = 0)';
    const value = this.value(path); // bindings are pushed in the order the SQL reads
    return `coalesce(${value} IN ${this.bind('(SELECT jsonb_array_elements(?::jsonb))', JSON.stringify(values))}, false)`;
  }

  protected range(path: WherePath, kind: RangeKind, value: string | number): string {
    const type = `coalesce(jsonb_typeof(${this.value(path)}), 'missing')`;
    if (typeof value === 'number') {
      return `(${type} = 'number' AND ${this.value(path)} ${RANGE_SQL[kind]} ${this.bind('?::jsonb', JSON.stringify(value))})`;
    }
    return `(${type} = 'string' AND (${this.value(path)} #>> '{}') COLLATE "C" ${RANGE_SQL[kind]} ${this.bind('?::text', value)})`;
  }

  /** A strict path to a missing key is an error, which the silent flag turns into null: false. */
  protected exists(path: WherePath): string {
    return this.bind(`coalesce(jsonb_path_exists(??, ?::jsonpath, '{}'::jsonb, true), false)`, this.column, postgresPath(path));
  }

  /** In strict mode [*] of a non-array is an error (silenced: false); == compares scalars by JSON type. */
  protected contains(path: WherePath, value: WhereScalar): string {
    const elementPath = `${postgresPath(path)}[*] ? (@ == $v)`;
    const sql = `coalesce(jsonb_path_exists(??, ?::jsonpath, jsonb_build_object('v', ?::jsonb), true), false)`;
    return this.bind(sql, this.column, elementPath, JSON.stringify(value));
  }
}

function sqlitePath(path: WherePath): string {
  return `$${path.map((segment) => `.${JSON.stringify(segment)}`).join('')}`;
}

function postgresPath(path: WherePath): string {
  return `strict $${path.map((segment) => `.${JSON.stringify(segment)}`).join('')}`;
}

// The AST may arrive through a queue: check what the SQL relies on rather than trust its type.
function checkPath(path: WherePath): WherePath {
  const untrusted: unknown = path; // Array.isArray(path) would narrow path itself to any[]
  if (!Array.isArray(untrusted) || path.length === 0 || !path.every((s) => typeof s === 'string' && SEGMENT_PATTERN.test(s))) {
    throw new TypeError('malformed where filter: bad field path');
  }
  return path;
}

function checkScalar(value: WhereScalar): WhereScalar {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new TypeError('malformed where filter: bad value');
}

function checkClause(clause: WhereAst): WhereAst {
  const untrusted: unknown = clause;
  if (typeof untrusted !== 'object' || untrusted === null) throw new TypeError('malformed where filter: bad $not clause');
  return clause;
}

function checkList(values: readonly WhereScalar[]): readonly WhereScalar[] {
  const untrusted: unknown = values;
  if (!Array.isArray(untrusted)) throw new TypeError('malformed where filter: bad value list');
  values.forEach(checkScalar);
  return values;
}

function checkRangeValue(value: string | number): string | number {
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw new TypeError('malformed where filter: bad range value');
}

// ---------------------------------------------------------------------------------------------
// Reference evaluation

/** What a path resolves to when the field is absent (or a non-object lies on the way). */
export const MISSING: unique symbol = Symbol('missing');

export function resolvePath(root: unknown, path: WherePath): unknown {
  let current = root;
  for (const segment of path) {
    if (!isJsonObject(current)) return MISSING;
    const descriptor = Object.getOwnPropertyDescriptor(current, segment);
    if (descriptor === undefined || !('value' in descriptor) || descriptor.value === undefined) return MISSING;
    current = descriptor.value;
  }
  return current;
}

function matchesRange(actual: unknown, kind: RangeKind, bound: string | number): boolean {
  let order: number;
  if (typeof bound === 'number' && typeof actual === 'number') order = actual < bound ? -1 : actual > bound ? 1 : 0;
  else if (typeof bound === 'string' && typeof actual === 'string') order = compareCodePoints(actual, bound);
  else return false;
  if (kind === 'gt') return order > 0;
  if (kind === 'gte') return order >= 0;
  if (kind === 'lt') return order < 0;
  return order <= 0;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000; // surrogates stand for code points above U+FFFF
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

function isJsonObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isJsonObject(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Reads an own data property without ever touching the prototype chain (`__proto__` is data). */
function ownValue(object: object, key: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(object, key);
  return descriptor && 'value' in descriptor ? descriptor.value : undefined;
}

function quote(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}
