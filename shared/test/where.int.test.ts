/**
 * The where filter on real databases: the ids applyWhere selects must equal the ids matchesWhere
 * accepts, on SQLite (a temp file) and, when TEST_DATABASE_URL is set, on Postgres (a table of its
 * own, dropped at the end). The worker's payload index is the third implementation: built per
 * database from the fields read out of SQL as a worker reads them (payload-fields.ts), it must
 * list the same ids. One seed drives both the stored metadata and the random filters, so
 * the seed fast-check prints on a failure reproduces the whole run (pass it as `seed` below).
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';
import knexFactory, { type Knex } from 'knex';

import { applyWhere, compileWhere, createWhereSchema, dialectOf, matchesWhere, type WhereAst, type WherePath } from '../src/db/where.js';
import { fieldTextSql, parseFieldText } from '../src/db/payload-fields.js';
import { PayloadIndex, type PayloadType } from '../../worker/src/vectors/payload-index.js';
import { ValidationError } from '../src/errors.js';
import { parse } from '../src/validation.js';

const DATABASE_URL = process.env['TEST_DATABASE_URL'];
const ROWS = 400;
const FILTER_RUNS = 1000; // random filters per run, each checked on every database
const SEED = randomInt(2 ** 31); // replace with the seed of a failure to replay it
const schema = createWhereSchema({ maxDepth: 8, maxConditions: 500, maxInList: 20 });

const KEYS = ['a', 'b', 'n', 'tag', 'name', 'author', '__proto__', 'constructor', 'prototype', '0', 'x-y', 'A_1', '-'];
const DATA_ONLY_KEYS = ['a.b', "a') OR 1=1 --", '$', ''];
const STRINGS = [
  '',
  'a',
  'A',
  'b',
  'ab',
  'é',
  'e\u0301',
  '😀',
  '😀a',
  '\uE000',
  '\uFFFF',
  'Ω',
  'ü',
  'z',
  '1',
  '-1',
  '1.5',
  'true',
  'null',
  "it's",
  'say "hi"',
  '\\',
  "') OR 1=1 --",
  '%',
  '_',
  '?',
  '$."a"',
  'strict $',
  '{}',
  '[1]',
  '\n',
  ' a',
  '\u007f',
  '\u0080',
];
const NUMBERS = [
  0,
  1,
  -1,
  2,
  3,
  42,
  100,
  -100,
  1.5,
  -1.5,
  0.1,
  0.2,
  0.30000000000000004,
  1e21,
  1e20,
  2 ** 53,
  -(2 ** 53),
  1e-7,
  -2.5e-8,
  123456789.125,
  5e-324,
  1.7976931348623157e308,
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const HOT: Json[] = ['', 'a', 'b', 'é', '😀', '\uE000', '1', "it's", 0, 1, -1, 1.5, 0.1, 1e21, true, false, null];

const wellFormed = (text: string): boolean => !text.includes('\u0000') && !/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
const stringArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }).filter(wellFormed) },
);
const numberArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...NUMBERS) },
  { weight: 1, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);
const scalarArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...HOT) },
  { weight: 2, arbitrary: stringArb },
  { weight: 2, arbitrary: numberArb },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

/** Objects are built with fromEntries, so "__proto__" becomes an own key, as JSON.parse makes it. */
const objectOf = (keys: fc.Arbitrary<string>, value: fc.Arbitrary<Json>, minLength: number, maxLength: number): fc.Arbitrary<Json> =>
  fc.uniqueArray(fc.tuple(keys, value), { selector: (entry) => entry[0], minLength, maxLength }).map((entries) => Object.fromEntries(entries));
const keyArb = fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.constantFrom(...DATA_ONLY_KEYS) });

const valueArb: fc.Arbitrary<Json> = fc.letrec<{ value: Json; object: Json; array: Json }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 3 }, scalarArb, scalarArb, scalarArb, tie('object'), tie('array')),
  object: objectOf(keyArb, tie('value'), 0, 6),
  array: fc.array(tie('value'), { maxLength: 3 }),
})).value;
const metadataArb = objectOf(keyArb, valueArb, 2, 10);

const fieldArb = fc
  .oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constant(3) })
  .chain((length) => fc.array(fc.constantFrom(...KEYS), { minLength: length, maxLength: length }))
  .map((segments) => segments.join('.'));
const rangeValueArb = fc.oneof(fc.constantFrom('', 'a', 'b', 'é', '😀', '\uE000', 0, 1, -1, 1.5), stringArb, numberArb);
const baseOperatorArb: fc.Arbitrary<Json> = fc.oneof(
  fc.record({ $eq: scalarArb }),
  fc.record({ $ne: scalarArb }),
  fc.record({ $gt: rangeValueArb }),
  fc.record({ $gte: rangeValueArb }),
  fc.record({ $lt: rangeValueArb }),
  fc.record({ $lte: rangeValueArb }),
  fc.record({ $gt: rangeValueArb, $lte: rangeValueArb }),
  fc.record({ $in: fc.array(scalarArb, { maxLength: 5 }) }),
  fc.record({ $nin: fc.array(scalarArb, { maxLength: 5 }) }),
  fc.record({ $ne: scalarArb, $nin: fc.array(scalarArb, { maxLength: 3 }) }),
  fc.record({ $exists: fc.boolean() }),
  fc.record({ $contains: scalarArb }),
  fc.record({ $contains: scalarArb, $exists: fc.boolean() }),
);
const operatorArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: baseOperatorArb },
  { weight: 1, arbitrary: fc.record({ $not: baseOperatorArb }) },
  {
    weight: 1,
    arbitrary: fc.tuple(baseOperatorArb, fc.record({ $not: baseOperatorArb })).map(([ops, not]) => ({ ...(ops as object), ...(not as object) })),
  },
);
const conditionArb = fc.tuple(fieldArb, fc.oneof(scalarArb, operatorArb));

const filterArb: fc.Arbitrary<Json> = fc.letrec<{ filter: Json }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.uniqueArray(conditionArb, { selector: (entry) => entry[0], minLength: 1, maxLength: 2 }).map((entries) => Object.fromEntries(entries)),
    fc.record({ $and: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $or: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $not: tie('filter') }),
    fc.tuple(conditionArb, fc.array(tie('filter'), { minLength: 1, maxLength: 2 })).map(([[field, value], or]) =>
      Object.fromEntries([
        [field, value],
        ['$or', or],
      ]),
    ),
  ),
})).filter;

interface Target {
  name: string;
  db: Knex;
  table: string;
  payload: PayloadIndex; // fields declared as filters first read them
}

interface Row {
  id: number;
  metadata: unknown; // as JSON.parse reads the stored text
}

/** The rows every database holds; the last few are excluded by an extra WHERE to catch bad parentheses. */
function makeRows(): Row[] {
  const generated = fc.sample(metadataArb, { numRuns: ROWS, seed: SEED });
  const fixed: Json[] = [
    JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}}') as Json,
    { tags: ['x', 1], a: [{ b: 1 }], '0': { '0': 'zero' }, n: [5] },
    { n: 1, a: '1', b: true, tag: 1.0, name: null },
    { n: '1', a: 1, b: 1, tag: 'true', 'x-y': { '-': 'dash' } },
    { author: { name: 'O\'Brien "the" \\ ?' }, '-': -0.5, 'a.b': 'literal dotted key' },
    'not an object',
    [{ a: 1 }],
  ];
  return [...fixed, ...generated].map((metadata, id): Row => ({ id, metadata: JSON.parse(JSON.stringify(metadata)) }));
}

const ID_LIMIT = ROWS; // rows with id >= ID_LIMIT are outside the extra WHERE

async function createTarget(name: string, db: Knex, table: string, rows: Row[]): Promise<Target> {
  await db.schema.createTable(table, (t) => {
    t.integer('id').primary();
    if (dialectOf(db) === 'postgres') t.jsonb('metadata').notNullable();
    else t.text('metadata').notNullable();
  });
  const records = rows.map((row) => ({ id: row.id, metadata: JSON.stringify(row.metadata) }));
  for (let i = 0; i < records.length; i += 100) await db(table).insert(records.slice(i, i + 100));
  return { name, db, table, payload: new PayloadIndex() };
}

const PAYLOAD_TYPES: readonly PayloadType[] = ['keyword', 'number', 'bool'];

/** The ids the payload index lists, each field the filter reads declared (with a type of its name's choosing) and read from SQL first. */
async function payloadIds(target: Target, where: WhereAst): Promise<number[]> {
  for (const path of pathsOf(where)) {
    const name = path.join('.');
    if (target.payload.fieldNames.includes(name)) continue;
    target.payload.declare({ field: name, type: PAYLOAD_TYPES[[...name].reduce((h, c) => h + c.charCodeAt(0), 0) % 3] ?? 'keyword' });
    const { sql, bindings } = fieldTextSql(dialectOf(target.db), `${target.table}.metadata`, path);
    const rows: Array<{ id: number; v: unknown }> = await target.db(target.table).select('id', target.db.raw(`${sql} as v`, bindings));
    for (const row of rows) target.payload.set(Number(row.id), [name], [parseFieldText(row.v)]);
  }
  return target.payload
    .matching(where)
    .filter((id) => id < ID_LIMIT)
    .sort((a, b) => a - b);
}

function pathsOf(where: WhereAst): WherePath[] {
  switch (where.kind) {
    case 'and':
    case 'or':
      return where.clauses.flatMap(pathsOf);
    case 'not':
      return pathsOf(where.clause);
    default:
      return [where.path];
  }
}

/** Each backend's SQL and the payload index over its rows give `expected`. */
async function assertEveryTargetAnswers(targets: readonly Target[], where: WhereAst, expected: number[], filter: unknown): Promise<void> {
  for (const target of targets) {
    assert.deepEqual(await selectIds(target, where), expected, `${target.name}: ${JSON.stringify(filter)}`);
    assert.deepEqual(await payloadIds(target, where), expected, `payload over ${target.name}: ${JSON.stringify(filter)}`);
  }
}

async function selectIds(target: Target, where: WhereAst): Promise<number[]> {
  const query = target.db<{ id: number }>(target.table).select('id').where('id', '<', ID_LIMIT).orderBy('id');
  const rows = await applyWhere(query, where, `${target.table}.metadata`, dialectOf(target.db));
  return rows.map((row) => Number(row.id));
}

function expectedIds(rows: Row[], where: WhereAst): number[] {
  return rows.filter((row) => row.id < ID_LIMIT && matchesWhere(row.metadata, where)).map((row) => row.id);
}

describe('where on SQLite and Postgres', () => {
  const rows = makeRows();
  const targets: Target[] = [];
  let sqliteDir = '';

  before(async () => {
    sqliteDir = await mkdtemp(path.join(tmpdir(), 'colmeia-where-'));
    const sqlite = knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(sqliteDir, 'where.sqlite') }, useNullAsDefault: true });
    targets.push(await createTarget('sqlite', sqlite, 'where_rows', rows));
    if (DATABASE_URL) {
      const pg = knexFactory({ client: 'pg', connection: DATABASE_URL, pool: { min: 0, max: 2 } });
      targets.push(await createTarget('postgres', pg, `where_rows_${randomUUID().replace(/-/g, '').slice(0, 12)}`, rows));
    }
  });

  after(async () => {
    for (const target of targets) {
      if (target.name === 'postgres') await target.db.schema.dropTableIfExists(target.table);
      await target.db.destroy();
    }
    if (sqliteDir) await rm(sqliteDir, { recursive: true, force: true });
  });

  it(`selects exactly the rows matchesWhere accepts, for ${FILTER_RUNS} random filters`, async () => {
    assert.equal(targets.length, DATABASE_URL ? 2 : 1);
    let selective = 0;
    await fc.assert(
      fc.asyncProperty(filterArb, async (filter) => {
        const where = schema.parse(filter);
        const expected = expectedIds(rows, where);
        if (expected.length > 0 && expected.length < ID_LIMIT - 1) selective++;
        for (const target of targets) {
          assert.deepEqual(await selectIds(target, where), expected, `${target.name} differs from matchesWhere`);
          assert.deepEqual(await payloadIds(target, where), expected, `the payload index over ${target.name} differs from matchesWhere`);
        }
      }),
      { numRuns: FILTER_RUNS, seed: SEED },
    );
    assert.ok(selective >= FILTER_RUNS * 0.15, `only ${selective} of ${FILTER_RUNS} filters selected some but not all rows`);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('answers hostile values with the right rows, never a SQL error', async () => {
    const hostile = ["') OR 1=1 --", "'; DROP TABLE where_rows; --", '?', '??', '$1', '\\', '"', '$."a"', 'strict $', '%', '_', '{}', '\u2028'];
    for (const value of hostile) {
      for (const filter of [{ a: value }, { a: { $ne: value } }, { 'author.name': { $gt: value } }, { n: { $in: [value, 1] } }, { '-': { $nin: [value] } }]) {
        const where = schema.parse(filter);
        for (const target of targets) {
          assert.deepEqual(await selectIds(target, where), expectedIds(rows, where), `${target.name}: ${JSON.stringify(filter)}`);
          assert.deepEqual(await payloadIds(target, where), expectedIds(rows, where), `payload over ${target.name}: ${JSON.stringify(filter)}`);
        }
      }
    }
    const quoted = schema.parse({ 'author.name': 'O\'Brien "the" \\ ?' });
    for (const target of targets) assert.deepEqual(await selectIds(target, quoted), [4]);
  });

  it('answers legal odd field names with the right rows', async () => {
    const filters: Json[] = [
      { '-': -0.5 },
      { 'x-y.-': 'dash' },
      { '0.0': 'zero' },
      { 'tags.0': 'x' }, // arrays are never indexed
      { 'a.0.b': 1 },
      { 'n.0': 5 },
      { 'a.b': 'literal dotted key' }, // a dot always means nesting
      { '__proto__.polluted': 1 },
      { 'constructor.prototype.polluted': { $gte: 2 } },
      { constructor: { $ne: null } },
      { prototype: { $nin: [null] } },
    ];
    const expectations = [[4], [3], [1], [], [], [], [], [0], [0]]; // among the hand-written rows 0..6
    for (const [i, filter] of filters.entries()) {
      const where = schema.parse(JSON.parse(JSON.stringify(filter)));
      const expected = expectedIds(rows, where);
      const fixed = expectations[i];
      if (fixed)
        assert.deepEqual(
          expected.filter((id) => id < 7),
          fixed,
          `reference for ${JSON.stringify(filter)}`,
        );
      await assertEveryTargetAnswers(targets, where, expected, filter);
    }
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('answers $exists, $contains and $not with the right rows', async () => {
    const all = [0, 1, 3, 4, 5, 6];
    const cases: Array<[Json, number[]]> = [
      [{ tags: { $contains: 'x' } }, [1]],
      [{ tags: { $contains: 1.0 } }, [1]],
      [{ n: { $contains: 5 } }, [1]],
      [{ n: { $contains: '5' } }, []],
      [{ a: { $contains: 1 } }, []], // a list of objects, and a number that is not a list
      [{ name: { $exists: true } }, [2]], // an explicit null is present
      [{ name: { $exists: false } }, all],
      [{ 'author.name': { $exists: true } }, [4]],
      [{ n: { $not: { $gte: 1 } } }, all], // missing, a list and a string are not >= 1
      [{ $not: { b: true } }, all],
      [{ $not: { $not: { b: true } } }, [2]],
    ];
    for (const [filter, fixed] of cases) {
      const where = schema.parse(filter);
      const expected = expectedIds(rows, where);
      assert.deepEqual(
        expected.filter((id) => id < 7),
        fixed,
        `reference for ${JSON.stringify(filter)}`,
      );
      await assertEveryTargetAnswers(targets, where, expected, filter);
    }
  });

  it('refuses hostile field names and malformed filters before any SQL runs', () => {
    const refused = [
      { "a') OR 1=1 --": 1 },
      { '.': 1 },
      { '..': 1 },
      { 'a..b': 1 },
      { lang: { name: 'x' } },
      { a: { $gt: [1] } },
      { a: { $in: 'x' } },
      { a: { $where: '1' } },
      { $where: 'sleep(10)' },
      JSON.parse('{"__proto__": {"polluted": 1}}'),
      JSON.parse('{"a": {"$in": [1e999]}}'),
      { a: { $exists: 'yes' } },
      { a: { $contains: [1] } },
      { a: { $not: 5 } },
      { a: { $not: {} } },
      { $not: [] },
      { $not: {} },
    ];
    for (const filter of refused) assert.throws(() => parse(schema, filter, 'where'), ValidationError, JSON.stringify(filter));
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('refuses a hand-made AST with a hostile path instead of querying with it', () => {
    const bad = JSON.parse(`{"kind": "eq", "path": ["a') OR 1=1 --"], "value": 1}`) as WhereAst;
    for (const target of targets) {
      assert.throws(() => applyWhere(target.db(target.table).select('id'), bad, `${target.table}.metadata`, dialectOf(target.db)), TypeError);
      assert.throws(() => compileWhere(bad, 'metadata', dialectOf(target.db)), TypeError);
    }
  });

  it('combines with the other conditions of the query under AND', async () => {
    const where = schema.parse({ $or: [{ n: 1 }, { n: { $ne: 1 } }] });
    for (const target of targets) {
      const rowsBelow = await applyWhere(target.db(target.table).select('id').where('id', '<', 3), where, `${target.table}.metadata`, dialectOf(target.db));
      assert.equal(rowsBelow.length, 3);
    }
  });
});
