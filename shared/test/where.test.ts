import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { z } from 'zod';

import { compareCodePoints, compileWhere, createWhereSchema, matchesWhere, type WhereAst } from '../src/db/where.js';
import { ValidationError } from '../src/errors.js';
import { parse } from '../src/validation.js';

const LIMITS = { maxDepth: 4, maxConditions: 10, maxInList: 5 };
const schema = createWhereSchema(LIMITS);

function ast(input: unknown): WhereAst {
  const result = schema.safeParse(input);
  assert.ok(result.success, `expected ${JSON.stringify(input)} to parse: ${result.error?.message ?? ''}`);
  return result.data;
}

/** The rules and paths of the issues a filter is rejected with. */
function rejection(input: unknown): Array<{ path: string; rule: unknown }> {
  const result = schema.safeParse(input);
  if (result.success) assert.fail(`expected ${JSON.stringify(input)} to be rejected`);
  return (result.error?.issues ?? []).map((issue): { path: string; rule: unknown } => ({
    path: issue.path.map(String).join('.'),
    rule: 'params' in issue ? issue.params?.['rule'] : issue.code,
  }));
}

function assertRejected(input: unknown, rule: string, path?: string): void {
  const issues = rejection(input);
  const match = issues.find((issue) => issue.rule === rule && (path === undefined || issue.path === path));
  assert.ok(match, `expected rule ${rule}${path === undefined ? '' : ` at ${path}`}, got ${JSON.stringify(issues)}`);
}

function nestedAnd(levels: number): unknown {
  let filter: unknown = { a: 1 };
  for (let i = 0; i < levels; i++) filter = { $and: [filter] };
  return filter;
}

function matches(metadata: unknown, filter: unknown): boolean {
  return matchesWhere(metadata, ast(filter));
}

describe('createWhereSchema', () => {
  it('turns shorthand equality and operators into an AST with split paths', () => {
    assert.deepEqual(ast({ 'author.name': 'Ana' }), { kind: 'eq', path: ['author', 'name'], value: 'Ana' });
    assert.deepEqual(ast({ n: { $gte: 1, $lt: 5 } }), {
      kind: 'and',
      clauses: [
        { kind: 'gte', path: ['n'], value: 1 },
        { kind: 'lt', path: ['n'], value: 5 },
      ],
    });
    assert.deepEqual(ast({ $or: [{ a: null }, { b: { $nin: ['x', 2, false] } }] }), {
      kind: 'or',
      clauses: [
        { kind: 'eq', path: ['a'], value: null },
        { kind: 'nin', path: ['b'], values: ['x', 2, false] },
      ],
    });
  });

  it('reads several keys of one object as AND and {} as match-all', () => {
    assert.deepEqual(ast({ a: 1, b: { $ne: true } }), {
      kind: 'and',
      clauses: [
        { kind: 'eq', path: ['a'], value: 1 },
        { kind: 'ne', path: ['b'], value: true },
      ],
    });
    assert.deepEqual(ast({}), { kind: 'and', clauses: [] });
    assert.deepEqual(ast({ a: { $in: [] } }), { kind: 'in', path: ['a'], values: [] });
  });

  it('accepts __proto__, constructor and prototype as plain field names', () => {
    const filter: unknown = JSON.parse('{"__proto__": 1, "constructor.prototype": {"$ne": "x"}, "__proto__.polluted": {"$in": [1]}}');
    assert.deepEqual(ast(filter), {
      kind: 'and',
      clauses: [
        { kind: 'eq', path: ['__proto__'], value: 1 },
        { kind: 'ne', path: ['constructor', 'prototype'], value: 'x' },
        { kind: 'in', path: ['__proto__', 'polluted'], values: [1] },
      ],
    });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('normalises -0 to 0 so the AST survives JSON', () => {
    assert.ok(Object.is((ast({ n: -0 }) as { value: number }).value, 0));
  });

  it('rejects unknown operators on fields and at the top', () => {
    assertRejected({ a: { $where: '1' } }, 'unknown_operator', 'a.$where');
    assertRejected({ a: { $regex: '.*' } }, 'unknown_operator', 'a.$regex');
    assertRejected({ $where: 'sleep(1)' }, 'unknown_operator', '$where');
    assertRejected({ $nor: [{ a: 1 }] }, 'unknown_operator', '$nor');
    assertRejected({ a: { $and: [] } }, 'unknown_operator', 'a.$and');
    assertRejected({ $: 1 }, 'unknown_operator', '$');
  });

  it('parses $exists, $contains and $not, on a field and on a filter', () => {
    assert.deepEqual(ast({ a: { $exists: true } }), { kind: 'exists', path: ['a'] });
    assert.deepEqual(ast({ a: { $exists: false } }), { kind: 'not', clause: { kind: 'exists', path: ['a'] } });
    assert.deepEqual(ast({ 'x.tags': { $contains: 'b' } }), { kind: 'contains', path: ['x', 'tags'], value: 'b' });
    assert.deepEqual(ast({ n: { $not: { $gt: 1, $lt: 5 } } }), {
      kind: 'not',
      clause: {
        kind: 'and',
        clauses: [
          { kind: 'gt', path: ['n'], value: 1 },
          { kind: 'lt', path: ['n'], value: 5 },
        ],
      },
    });
    assert.deepEqual(ast({ $not: { a: 1 } }), { kind: 'not', clause: { kind: 'eq', path: ['a'], value: 1 } });
  });

  it('rejects malformed $exists, $contains and $not', () => {
    assertRejected({ a: { $exists: 'yes' } }, 'boolean', 'a.$exists');
    assertRejected({ a: { $contains: [1] } }, 'scalar', 'a.$contains');
    assertRejected({ a: { $not: 5 } }, 'not_operand', 'a.$not');
    assertRejected({ a: { $not: { b: 1 } } }, 'object_value', 'a.$not');
    assertRejected({ $not: [{ a: 1 }] }, 'not_operand', '$not');
    assertRejected({ $not: {} }, 'not_operand', '$not');
  });

  it('rejects field names outside the pattern, including SQL injection', () => {
    for (const field of ["a') OR 1=1 --", 'a b', 'a;b', 'é', '', 'a"b', "a'b", 'x'.repeat(65), 'a\u0000b', 'a/b']) {
      assertRejected({ [field]: 1 }, 'field_name');
    }
    assertRejected({ $or: [{ "x') OR 1=1 --": 1 }] }, 'field_name', "$or.0.x') OR 1=1 --");
  });

  it('rejects empty path segments', () => {
    for (const field of ['.', '..', 'a..b', '.a', 'a.', 'a.b.']) assertRejected({ [field]: 1 }, 'field_path', field);
    assert.deepEqual(ast({ '-': 1 }), { kind: 'eq', path: ['-'], value: 1 });
  });

  it('rejects objects as values, never handing them on', () => {
    assertRejected({ lang: { name: 'x' } }, 'object_value', 'lang');
    assertRejected({ lang: {} }, 'object_value', 'lang');
    assertRejected({ lang: { $eq: 'x', name: 'x' } }, 'object_value', 'lang');
    assertRejected({ lang: { $eq: { name: 'x' } } }, 'scalar', 'lang.$eq');
    assertRejected({ lang: { $ne: [1] } }, 'scalar', 'lang.$ne');
    assertRejected({ tags: ['a', 'b'] }, 'scalar', 'tags');
    assertRejected({ at: new Date(0) }, 'scalar', 'at');
  });

  it('rejects $in and $nin without a list and with non-scalar items', () => {
    assertRejected({ a: { $in: 'x' } }, 'value_list', 'a.$in');
    assertRejected({ a: { $nin: { 0: 'x' } } }, 'value_list', 'a.$nin');
    assertRejected({ a: { $in: null } }, 'value_list', 'a.$in');
    assertRejected({ a: { $in: [1, [2]] } }, 'scalar', 'a.$in.1');
    assertRejected({ a: { $in: [{ b: 1 }] } }, 'scalar', 'a.$in.0');
  });

  it('rejects ranges over lists, null and booleans', () => {
    assertRejected({ a: { $gt: [1] } }, 'range_value', 'a.$gt');
    assertRejected({ a: { $gte: null } }, 'range_value', 'a.$gte');
    assertRejected({ a: { $lt: true } }, 'range_value', 'a.$lt');
    assertRejected({ a: { $lte: { n: 1 } } }, 'range_value', 'a.$lte');
  });

  it('rejects non-finite numbers everywhere', () => {
    assertRejected({ a: Infinity }, 'finite', 'a');
    assertRejected({ a: { $gt: -Infinity } }, 'finite', 'a.$gt');
    assertRejected({ a: { $eq: Number.NaN } }, 'finite', 'a.$eq');
    assertRejected({ a: { $in: [1, Number.NaN] } }, 'finite', 'a.$in.1');
    assertRejected(JSON.parse('{"a": 1e309}'), 'finite', 'a');
  });

  it('rejects strings that Postgres cannot store', () => {
    assertRejected({ a: 'x\u0000y' }, 'no_nul', 'a');
    assertRejected({ a: { $in: ['\ud800'] } }, 'well_formed_unicode', 'a.$in.0');
    assertRejected({ a: { $gt: 'x\udc00' } }, 'well_formed_unicode', 'a.$gt');
    assert.deepEqual(ast({ a: '😀' }), { kind: 'eq', path: ['a'], value: '😀' });
  });

  it('rejects filters that are not objects, and empty or non-list $and/$or', () => {
    for (const input of [null, [], 'a', 1, true, [{ a: 1 }]]) assertRejected(input, 'filter_object', '');
    assertRejected({ $and: [] }, 'filter_list', '$and');
    assertRejected({ $or: { a: 1 } }, 'filter_list', '$or');
    assertRejected({ $and: [1] }, 'filter_object', '$and.0');
    assertRejected({ $or: [{ a: 1 }, {}] }, 'empty_filter', '$or.1');
  });

  it('rejects nesting deeper than maxDepth, even 10 000 levels, without recursing that far', () => {
    ast(nestedAnd(LIMITS.maxDepth));
    assertRejected(nestedAnd(LIMITS.maxDepth + 1), 'max_depth');
    const issues = rejection(nestedAnd(10_000));
    assert.deepEqual(
      issues.map((issue) => issue.rule),
      ['max_depth'],
    );
  });

  it('rejects more than maxConditions field conditions, counted across the whole filter', () => {
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, i]));
    ast(ten);
    assertRejected({ ...ten, extra: 1 }, 'max_conditions');
    assertRejected({ a: { $gt: 1, $lt: 2 }, $or: Array.from({ length: 9 }, (_, i) => ({ [`f${i}`]: i })) }, 'max_conditions');
    const huge = { $or: Array.from({ length: 100_000 }, (_, i) => ({ [`f${i}`]: i })) };
    assert.deepEqual(
      rejection(huge).map((issue) => issue.rule),
      ['max_conditions'],
    );
  });

  it('rejects an $in longer than maxInList', () => {
    ast({ a: { $in: [1, 2, 3, 4, 5] } });
    assertRejected({ a: { $in: [1, 2, 3, 4, 5, 6] } }, 'max_in_list', 'a.$in');
    assertRejected({ a: { $nin: Array.from({ length: 100_000 }, (_, i) => i) } }, 'max_in_list', 'a.$nin');
  });

  it('names the rule in its messages', () => {
    const messages = [nestedAnd(9), { a: { $in: [1, 2, 3, 4, 5, 6] } }, Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}`, i]))].map(
      (input) => schema.safeParse(input).error?.issues[0]?.message ?? '',
    );
    assert.match(messages[0] ?? '', /max_depth.*4/);
    assert.match(messages[1] ?? '', /max_in_list.*5/);
    assert.match(messages[2] ?? '', /max_conditions.*10/);
  });

  it('reports a bounded number of issues', () => {
    const bad = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`$op${i}`, 1]));
    const count = rejection(bad).length;
    assert.ok(count > 1 && count <= 20, `got ${count} issues`);
  });

  it('reports paths under the key it is nested in', () => {
    const body = z.strictObject({ where: schema.optional() });
    const result = body.safeParse({ where: { $or: [{ a: { $gt: [1] } }] } });
    assert.deepEqual(
      result.error?.issues.map((issue) => issue.path.join('.')),
      ['where.$or.0.a.$gt'],
    );
    assert.deepEqual(body.parse({}), {});
  });

  it('becomes a ValidationError through parse()', () => {
    assert.throws(
      () => parse(schema, { a: { $where: 'x' } }, 'where'),
      (err: unknown) => err instanceof ValidationError && err.issues.length === 1,
    );
  });

  it('refuses nonsensical limits', () => {
    assert.throws(() => createWhereSchema({ maxDepth: -1, maxConditions: 1, maxInList: 1 }), RangeError);
    assert.throws(() => createWhereSchema({ maxDepth: 1, maxConditions: 1.5, maxInList: 1 }), RangeError);
  });
});

describe('matchesWhere', () => {
  const doc: unknown = JSON.parse(
    '{"n": 1, "s": "1", "t": true, "z": null, "f": 1.5, "neg": -3, "tags": ["x", 1], "o": {"name": "Ana", "k": {"deep": 0}},' +
      ' "arr": [{"name": "Ana"}], "__proto__": {"polluted": "yes"}, "e": "", "u": "😀", "p": "\uE000"}',
  );

  it('compares with JSON types: 1 is not "1", true is not 1', () => {
    assert.equal(matches(doc, { n: 1 }), true);
    assert.equal(matches(doc, { n: 1.0 }), true);
    assert.equal(matches(doc, { n: '1' }), false);
    assert.equal(matches(doc, { s: 1 }), false);
    assert.equal(matches(doc, { s: '1' }), true);
    assert.equal(matches(doc, { t: 1 }), false);
    assert.equal(matches(doc, { t: true }), true);
    assert.equal(matches(doc, { n: true }), false);
    assert.equal(matches(doc, { e: '' }), true);
    assert.equal(matches(doc, { e: null }), false);
  });

  it('matches null only against an explicit null, never a missing field', () => {
    assert.equal(matches(doc, { z: null }), true);
    assert.equal(matches(doc, { missing: null }), false);
    assert.equal(matches(doc, { z: { $in: [null] } }), true);
    assert.equal(matches(doc, { missing: { $in: [null] } }), false);
  });

  it('lets $ne and $nin match missing fields and other types', () => {
    assert.equal(matches(doc, { missing: { $ne: 1 } }), true);
    assert.equal(matches(doc, { missing: { $ne: null } }), true);
    assert.equal(matches(doc, { z: { $ne: null } }), false);
    assert.equal(matches(doc, { s: { $ne: 1 } }), true);
    assert.equal(matches(doc, { n: { $ne: 1 } }), false);
    assert.equal(matches(doc, { missing: { $nin: [1, null] } }), true);
    assert.equal(matches(doc, { n: { $nin: ['1', true] } }), true);
    assert.equal(matches(doc, { n: { $nin: [1] } }), false);
  });

  it('treats arrays and objects as opaque: no equality, always $ne', () => {
    assert.equal(matches(doc, { tags: 'x' }), false);
    assert.equal(matches(doc, { tags: { $in: ['x', 1] } }), false);
    assert.equal(matches(doc, { tags: { $ne: 'x' } }), true);
    assert.equal(matches(doc, { tags: { $gt: '' } }), false);
    assert.equal(matches(doc, { o: { $ne: null } }), true);
    assert.equal(matches(doc, { o: { $gte: 0 } }), false);
  });

  it('walks dotted paths through objects only, never into arrays', () => {
    assert.equal(matches(doc, { 'o.name': 'Ana' }), true);
    assert.equal(matches(doc, { 'o.k.deep': 0 }), true);
    assert.equal(matches(doc, { 'tags.0': 'x' }), false);
    assert.equal(matches(doc, { 'arr.0.name': 'Ana' }), false);
    assert.equal(matches(doc, { 'arr.name': 'Ana' }), false);
    assert.equal(matches(doc, { 'n.x': { $ne: 1 } }), true);
    assert.equal(matches(['a'], { '0': 'a' }), false);
    assert.equal(matches(null, { a: { $ne: 1 } }), true);
  });

  it('reads __proto__ and constructor as own data only', () => {
    assert.equal(matches(doc, { '__proto__.polluted': 'yes' }), true);
    assert.equal(matches({}, { '__proto__.polluted': { $ne: 'yes' } }), true);
    assert.equal(matches({}, { constructor: { $ne: null } }), true);
    assert.equal(matches({}, { 'constructor.name': 'Object' }), false);
    assert.equal(matches({}, { toString: { $in: [null] } }), false);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('compares ranges only within numbers or within strings', () => {
    assert.equal(matches(doc, { n: { $gt: 0, $lte: 1 } }), true);
    assert.equal(matches(doc, { f: { $gt: 1, $lt: 2 } }), true);
    assert.equal(matches(doc, { neg: { $lt: -2.5 } }), true);
    assert.equal(matches(doc, { n: { $gt: '0' } }), false);
    assert.equal(matches(doc, { s: { $lt: 10 } }), false);
    assert.equal(matches(doc, { s: { $gte: '1' } }), true);
    assert.equal(matches(doc, { z: { $lt: 1 } }), false);
    assert.equal(matches(doc, { t: { $gte: 0 } }), false);
    assert.equal(matches(doc, { missing: { $lt: 'z' } }), false);
    assert.equal(matches(doc, { e: { $lt: 'a' } }), true);
  });

  it('orders strings by code point, not by UTF-16 unit', () => {
    assert.equal(matches(doc, { u: { $gt: '\uE000' } }), true); // U+1F600 > U+E000, though '😀' < '\uE000' in JS
    assert.equal(matches(doc, { p: { $lt: '😀' } }), true);
    assert.ok(compareCodePoints('😀', '\uE000') > 0);
    assert.ok(compareCodePoints('a', 'ab') < 0);
    assert.ok(compareCodePoints('B', 'a') < 0);
    assert.equal(compareCodePoints('é', 'é'), 0);
  });

  it('combines with $and, $or and the implicit AND', () => {
    assert.equal(matches(doc, { $or: [{ n: 2 }, { s: '1' }] }), true);
    assert.equal(matches(doc, { $and: [{ n: 1 }, { s: 1 }] }), false);
    assert.equal(matches(doc, { n: 1, $or: [{ missing: 1 }, { 'o.name': 'Ana' }] }), true);
    assert.equal(matches(doc, {}), true);
    assert.equal(matches(doc, { a: { $in: [] } }), false);
    assert.equal(matches(doc, { a: { $nin: [] } }), true);
  });
});

describe('compileWhere', () => {
  const hostile = '\') OR 1=1 -- "; DROP TABLE x; ?';
  const filter = ast({ 'x-y.__proto__': hostile, n: { $in: [hostile, 1, true, null] }, m: { $gt: hostile } });

  for (const dialect of ['sqlite', 'postgres'] as const) {
    it(`binds every value and path on ${dialect}`, () => {
      const { sql, bindings } = compileWhere(filter, 'docs.metadata', dialect);
      assert.ok(!sql.includes('DROP') && !sql.includes('x-y') && !sql.includes('__proto__'), sql);
      const placeholders = sql.match(/\?\??/g) ?? [];
      assert.equal(placeholders.length, bindings.length);
      assert.ok(bindings.some((binding) => typeof binding === 'string' && binding.includes('"x-y"."__proto__"')));
    });
  }

  it('orders strings bytewise on Postgres whatever the database collation', () => {
    assert.match(compileWhere(ast({ s: { $lt: 'b' } }), 'm', 'postgres').sql, /COLLATE "C" < \?::text/);
  });

  it('refuses a malformed AST instead of compiling it', () => {
    const badPath = { kind: 'eq', path: ['a"b'], value: 1 } as const;
    assert.throws(() => compileWhere(badPath, 'm', 'sqlite'), TypeError);
    const badValue = JSON.parse('{"kind": "gt", "path": ["a"], "value": {"x": 1}}') as WhereAst;
    assert.throws(() => compileWhere(badValue, 'm', 'postgres'), TypeError);
    const badKind = JSON.parse('{"kind": "where", "path": ["a"], "value": 1}') as WhereAst;
    assert.throws(() => compileWhere(badKind, 'm', 'postgres'), TypeError);
  });
});
