/**
 * Property tests of every request schema and of the filter compiler. Any
 * JSON-like input, hostile or not, must either parse or throw a ValidationError whose issues each
 * name a path, a rule and a message; never another error. Accepted input must survive the wire (the
 * same input after JSON.stringify/parse gives the same output), keep its fields as sent (strict
 * objects: no key the schema does not know), and keep metadata objects as they are, never rebuilt
 * key by key, so `__proto__` stays data. The schemas are enumerated from createRequestSchemas, so a
 * schema added later is covered without touching this file. The seed is printed on a failure; put it
 * into SEED to replay the run.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { z } from 'zod';
import { loadConfig } from '../../shared/src/config.js';
import { compileWhere, createWhereSchema, type WhereAst } from '../../shared/src/db/where.js';
import { ValidationError } from '../../shared/src/errors.js';
import { createRequestSchemas } from '../src/http/request-schemas.js';
import { parse } from '../../shared/src/validation.js';

const RUNS = 2_000; // per schema; each run is a few microseconds of zod
const SEED = randomInt(2 ** 31);
const config = loadConfig({ NODE_ENV: 'test' });
const schemas = createRequestSchemas(config);
const whereSchema = createWhereSchema({ maxDepth: config.MAX_FILTER_DEPTH, maxConditions: config.MAX_FILTER_CONDITIONS, maxInList: config.MAX_IN_LIST });

const BUILTIN_OBJECT_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\n\t',
  'a',
  'hello world',
  'doc-1',
  'a:b.c_d-e',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '😀',
  'e\u0301',
  '__proto__',
  'constructor',
  'prototype',
  "') OR 1=1 --",
  "'; DROP TABLE documents; --",
  '$."a"',
  'strict $',
  '{}',
  '[1]',
  '../../etc/passwd',
  '..%2f..%2fx',
  'a/b',
  'CON',
  'a'.repeat(129),
  'b'.repeat(2_001),
  '1',
  '5',
  '0x10',
  ' 5 ',
  '1e2',
  '-1',
  '100',
  '101',
  '4294967301',
  '1e309',
  'NaN',
  'true',
  'null',
  '{"a":1}',
  '{"$where":"1"}',
  '{',
  'pending',
  'ready',
  'status',
];
const HOSTILE_NUMBERS = [0, -0, 1, -1, 1.5, 5, 50, 100, 101, 1000, 2 ** 31, 4294967301, 2 ** 53, 2 ** 64, 1e308, 5e-324, Infinity, -Infinity, NaN];
const EXTRA_KEYS = [
  'status',
  'embedding',
  'chunk_count',
  'chunkCount',
  'content_hash',
  'revision',
  'attempts',
  '__proto__',
  'constructor',
  'prototype',
  '$where',
  '',
];
const METADATA_KEYS = ['lang', 'a', 'b', 'n', 'tags', 'author', '__proto__', 'constructor', 'prototype', 'a.b', '$gt', '\u0000', '\ud800', ''];

/** Objects made with fromEntries, so "__proto__" is an own key, as JSON.parse makes it. */
const objectOf = (keys: fc.Arbitrary<string>, value: fc.Arbitrary<Json>, maxLength: number): fc.Arbitrary<Json> =>
  fc.uniqueArray(fc.tuple(keys, value), { selector: (entry) => entry[0], maxLength }).map((entries) => Object.fromEntries(entries));

const stringArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);
const numberArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: 200 }) },
  { weight: 1, arbitrary: fc.double() },
);
const scalarArb: fc.Arbitrary<Json> = fc.oneof(stringArb, numberArb, fc.boolean(), fc.constant(null));
const keyArb = fc.oneof(fc.constantFrom(...METADATA_KEYS), fc.string({ maxLength: 6 }));
const anyJson: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 6 }, scalarArb, scalarArb, fc.array(tie('value'), { maxLength: 4 }), objectOf(keyArb, tie('value'), 5)),
})).value;

const fieldNameArb = fc.oneof(
  fc.constantFrom(
    'a',
    'b',
    'n',
    'lang',
    'author.name',
    '__proto__',
    'constructor.prototype',
    'x-y',
    '-',
    '0',
    '.',
    '..',
    'a..b',
    "a') OR 1=1 --",
    'a"b',
    'a b',
    '$where',
    'é',
    'a'.repeat(65),
  ),
  fc.string({ maxLength: 8 }),
);
const operatorArb: fc.Arbitrary<Json> = fc.oneof(
  scalarArb,
  fc
    .constantFrom('$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$where', '$regex', 'name', '$')
    .chain((op) => fc.tuple(fc.constant(op), fc.oneof(scalarArb, fc.array(scalarArb, { maxLength: 4 }), anyJson)))
    .map(([op, value]) => Object.fromEntries([[op, value]])),
  fc
    .constantFrom('$in', '$nin')
    .chain((op) => fc.tuple(fc.constant(op), fc.oneof(fc.array(scalarArb, { maxLength: 6 }), scalarArb)))
    .map(([op, value]) => Object.fromEntries([[op, value]])),
);
const filterArb: fc.Arbitrary<Json> = fc.letrec<{ filter: Json }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    objectOf(fieldNameArb, operatorArb, 3),
    fc
      .constantFrom('$and', '$or', '$not')
      .chain((op) => fc.tuple(fc.constant(op), fc.array(tie('filter'), { maxLength: 3 })))
      .map(([op, list]) => Object.fromEntries([[op, list]])),
    anyJson,
  ),
})).filter;

/** Filters the grammar accepts, with legal but odd names and values, so accepted cases are common. */
const legalScalarArb: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom('', 'a', 'é', '😀', "') OR 1=1 --", '$."a"', '?', '??', '\\', '"', 0, -1, 1.5, 1e21, 5e-324, true, false, null),
  fc.integer({ min: -100, max: 100 }),
);
const legalFieldArb = fc.constantFrom('a', 'b', 'n', 'lang', 'author.name', '__proto__', 'constructor.prototype', 'x-y', '-', '0', 'a.b.c', 'A_1');
const legalConditionArb: fc.Arbitrary<Json> = fc.oneof(
  legalScalarArb,
  fc.constantFrom('$eq', '$ne').chain((op) => legalScalarArb.map((value) => Object.fromEntries([[op, value]]))),
  fc
    .constantFrom('$gt', '$gte', '$lt', '$lte')
    .chain((op) => fc.oneof(fc.string({ maxLength: 3 }), fc.integer()).map((value) => Object.fromEntries([[op, value]]))),
  fc.constantFrom('$in', '$nin').chain((op) => fc.array(legalScalarArb, { maxLength: 5 }).map((values) => Object.fromEntries([[op, values]]))),
);
const legalFilterArb: fc.Arbitrary<Json> = fc.letrec<{ filter: Json }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    objectOf(legalFieldArb, legalConditionArb, 3).filter((filter) => Object.keys(filter as object).length > 0),
    fc.constantFrom('$and', '$or').chain((op) => fc.array(tie('filter'), { minLength: 1, maxLength: 3 }).map((list) => Object.fromEntries([[op, list]]))),
  ),
})).filter;
const someFilterArb = fc.oneof(legalFilterArb, filterArb);

/** A plausible-or-hostile value for a field, chosen by the field's name; unknown names get anything. */
function fieldValueArb(name: string): fc.Arbitrary<unknown> {
  const plausible: Record<string, fc.Arbitrary<unknown>> = {
    metadata: objectOf(keyArb, anyJson, 6),
    where: fc.oneof(
      someFilterArb,
      someFilterArb.map((filter) => JSON.stringify(filter)),
      stringArb,
    ),
    k: numberArb,
    limit: fc.oneof(stringArb, fc.integer({ min: 0, max: 300 }).map(String)),
    dryRun: fc.oneof(fc.boolean(), scalarArb),
    title: fc.oneof(stringArb, fc.constant(null)),
    documents: fc.array(
      fc.oneof(
        fc.record({ text: fc.string({ minLength: 1, maxLength: 20 }).map((text) => `doc ${text}`) }).map((item) => ({ ...item })), // plain objects, as JSON.parse makes
        fc.record({ id: stringArb, text: stringArb, metadata: objectOf(keyArb, anyJson, 3) }, { requiredKeys: ['text'] }).map((item) => ({ ...item })),
        anyJson,
      ),
      { minLength: 0, maxLength: 4 },
    ),
  };
  return fc.oneof({ weight: 3, arbitrary: plausible[name] ?? stringArb }, { weight: 1, arbitrary: anyJson });
}

/** Inputs for one schema: anything at all, or objects over its own keys (and a few it must refuse). */
function inputArb(schema: z.ZodType): fc.Arbitrary<unknown> {
  const shape = shapeOf(schema);
  if (!shape) return fc.oneof(anyJson, numberArb);
  const keys = Object.keys(shape);
  const known = fc.uniqueArray(fc.constantFrom(...keys), { maxLength: keys.length });
  const withKnown = known
    .chain((chosen) => fc.tuple(...chosen.map((key) => fieldValueArb(key).map((value) => [key, value] as const))))
    .map((entries) => Object.fromEntries(entries));
  const withExtra = fc
    .tuple(withKnown, fc.constantFrom(...EXTRA_KEYS), anyJson)
    .map(([base, key, value]) => ({ ...base, ...Object.fromEntries([[key, value]]) }));
  return fc.oneof({ weight: 1, arbitrary: anyJson }, { weight: 6, arbitrary: withKnown }, { weight: 1, arbitrary: withExtra });
}

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  return schema instanceof z.ZodObject ? schema.shape : undefined;
}

/** parse() must succeed or throw a ValidationError with well-formed issues; returns the outcome. */
function outcome(schema: z.ZodType, input: unknown, what: string): { ok: true; value: unknown } | { ok: false; error: ValidationError } {
  try {
    return { ok: true, value: parse(schema, input, what) };
  } catch (err) {
    assert.ok(err instanceof ValidationError, `${what}: threw ${String(err)} for ${show(input)}`);
    assert.ok(err.issues.length > 0, `${what}: a ValidationError without issues`);
    for (const issue of err.issues) {
      assert.equal(typeof issue.path, 'string');
      assert.match(issue.rule, /^[a-z][a-z0-9_]*$/, `rule ${issue.rule}`);
      assert.ok(issue.message.length > 0);
    }
    assert.ok(err.message.length > 0 && err.message.length < 2_000);
    return { ok: false, error: err };
  }
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value).slice(0, 300);
  } catch {
    return String(value);
  }
}

const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

function hasNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (Array.isArray(value)) return value.some(hasNonFinite);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasNonFinite);
  return false;
}

/** Whether a field's schema changes the value it accepts (a transform or pipe under optional/default/nullable). */
function isTransforming(schema: z.ZodType): boolean {
  const def = schema._zod.def as { type: string; innerType?: z.ZodType };
  if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'default') && def.innerType) return isTransforming(def.innerType);
  return def.type === 'pipe' || def.type === 'transform';
}

/** What an accepted input must look like afterwards, field by field. */
function checkAccepted(name: string, schema: z.ZodType, input: unknown, output: unknown): void {
  assert.ok(!hasNonFinite(input), `${name} accepted a non-finite number: ${show(input)}`);
  const again = outcome(schema, wire(input), name);
  assert.ok(again.ok, `${name}: refused the same input after JSON: ${show(input)}`);
  assert.equal(JSON.stringify(again.value), JSON.stringify(output), `${name}: the same input after JSON gives another value`);
  const shape = shapeOf(schema);
  if (!shape) return;
  assert.ok(typeof input === 'object' && input !== null && !Array.isArray(input));
  const record = input as Record<string, unknown>;
  const parsed = output as Record<string, unknown>;
  for (const key of Object.keys(record)) assert.ok(Object.hasOwn(shape, key), `${name} accepted unknown key ${JSON.stringify(key)}`);
  for (const key of Object.keys(parsed)) {
    assert.ok(Object.hasOwn(shape, key), `${name} produced unknown key ${key}`);
    if (!Object.hasOwn(record, key)) continue; // a default
    if (key === 'where') {
      const raw = typeof record[key] === 'string' ? (JSON.parse(record[key]) as unknown) : record[key];
      assert.deepEqual(parsed[key], whereSchema.parse(raw));
    } else if (key === 'limit') {
      assert.equal(parsed[key], Number(record[key]));
    } else if (key === 'metadata') {
      assert.equal(parsed[key], record[key], 'metadata must be the very object sent, not a copy');
    } else if (!isTransforming(shape[key] as z.ZodType)) {
      assert.deepEqual(parsed[key], record[key], `${name}.${key} changed`);
    }
  }
}

const schemaEntries: Array<[string, z.ZodType]> = Object.entries(schemas as Record<string, unknown>).flatMap(([name, value]) =>
  value instanceof z.ZodType ? [[name, value] as [string, z.ZodType]] : [],
);

describe('request schemas under arbitrary input', () => {
  it('covers every schema createRequestSchemas returns', () => {
    assert.ok(schemaEntries.length >= 4, schemaEntries.map(([name]) => name).join(', '));
  });

  for (const [name, schema] of schemaEntries) {
    it(`${name}: parses or refuses with path, rule and message; accepted input round-trips`, (t) => {
      let accepted = 0;
      fc.assert(
        fc.property(inputArb(schema), (input) => {
          const result = outcome(schema, input, name);
          if (result.ok) {
            accepted++;
            checkAccepted(name, schema, input, result.value);
          }
          assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
          assert.deepEqual(
            Object.getOwnPropertyNames(Object.prototype).filter((key) => !BUILTIN_OBJECT_KEYS.has(key)),
            [],
          );
        }),
        { numRuns: RUNS, seed: SEED },
      );
      t.diagnostic(`${accepted} of ${RUNS} inputs accepted (seed ${SEED})`);
      assert.ok(accepted > 0, `${name}: no generated input was ever accepted (seed ${SEED})`);
    });
  }
});

describe('request schemas on known hostile input', () => {
  const { DocumentInput, SearchRequest, DocumentListQuery } = schemas;
  const refusal = (schema: z.ZodType, input: unknown) => {
    const result = outcome(schema, input, 'request');
    assert.ok(!result.ok, `accepted ${show(input)}`);
    return result.error.issues;
  };

  it('keeps "__proto__" in metadata as data and never changes a prototype', () => {
    const body = JSON.parse('{"text":"x","metadata":{"__proto__":{"polluted":1},"a":{"constructor":{"prototype":{"polluted":2}}}}}') as { metadata: object };
    const output = parse(DocumentInput, body) as { metadata: object };
    assert.equal(output.metadata, body.metadata);
    assert.equal(Object.getPrototypeOf(output.metadata), Object.prototype);
    assert.equal(JSON.stringify(output.metadata), '{"__proto__":{"polluted":1},"a":{"constructor":{"prototype":{"polluted":2}}}}');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('refuses a body that is not an object, naming the rule', () => {
    for (const body of [[], ['text'], 'text', 42, true, null, undefined]) {
      const issues = refusal(DocumentInput, body);
      assert.deepEqual(
        issues.map((issue) => [issue.path, issue.rule]),
        [['', 'invalid_type']],
        show(body),
      );
    }
  });

  it('refuses mass assignment and prototype keys at the top level, naming each key', () => {
    for (const key of ['status', 'embedding', 'chunk_count', 'content_hash', '__proto__', 'constructor']) {
      const issues = refusal(DocumentInput, JSON.parse(`{"text":"x",${JSON.stringify(key)}:{"polluted":1}}`));
      assert.deepEqual(
        issues.map((issue) => [issue.path, issue.rule]),
        [[key, 'unrecognized_keys']],
      );
    }
  });

  it('refuses k outside 1..MAX_K, fractions, strings and non-finite numbers', () => {
    for (const k of [0, -1, 1.5, '10', 101, 4294967301, 2 ** 53, Infinity, -Infinity, NaN, JSON.parse('1e309') as number, null, true]) {
      assert.deepEqual([...new Set(refusal(SearchRequest, { query: 'cats', k }).map((issue) => issue.path))], ['k'], String(k));
    }
  });

  it('refuses NUL, lone surrogates and blank text the same way for every backend', () => {
    for (const text of ['\u0000', 'a\u0000', '\ud800', 'b\udfff', '   ', '']) {
      assert.equal(refusal(DocumentInput, { text })[0]?.path, 'text', show(text));
    }
    assert.equal(refusal(DocumentInput, { text: 'x', metadata: { a: 'b\u0000' } })[0]?.rule, 'no_nul');
    assert.equal(refusal(DocumentInput, { text: 'x', metadata: { '\ud800': 1 } })[0]?.rule, 'key');
  });

  it('refuses malformed where and limit query strings', () => {
    for (const where of ['', '{', 'null', '[]', '{"a":{"$where":"1"}}', '{"a\') OR 1=1 --":1}']) {
      assert.equal(refusal(DocumentListQuery, { where })[0]?.path.split('.')[0], 'where', where);
    }
    for (const limit of ['', '0', '0x10', ' 5 ', '1e2', '-1', '201', '1.5', 'NaN']) {
      assert.equal(refusal(DocumentListQuery, { limit })[0]?.path, 'limit', limit);
    }
    assert.deepEqual(parse(DocumentListQuery, { limit: '7' }), { limit: 7 });
  });
});

describe('filter compiler on arbitrary accepted filters', () => {
  /** The same filter with every field name and value replaced by a placeholder of its type. */
  function skeleton(ast: WhereAst): WhereAst {
    const path = (p: readonly string[]) => p.map(() => 'f');
    const value = <T>(v: T): T => (typeof v === 'string' ? ('s' as T) : typeof v === 'number' ? (0 as T) : v);
    switch (ast.kind) {
      case 'and':
      case 'or':
        return { kind: ast.kind, clauses: ast.clauses.map(skeleton) };
      case 'in':
      case 'nin':
        return { kind: ast.kind, path: path(ast.path), values: ast.values.map(value) };
      case 'not':
        return { kind: 'not', clause: skeleton(ast.clause) };
      case 'exists':
        return { kind: 'exists', path: path(ast.path) };
      default:
        return { ...ast, path: path(ast.path), value: value(ast.value) } as WhereAst;
    }
  }

  it('writes SQL whose text depends on the filter shape only; names and values are bound', (t) => {
    let compiled = 0;
    fc.assert(
      fc.property(someFilterArb, (filter) => {
        const result = whereSchema.safeParse(filter);
        if (!result.success) return;
        compiled++;
        for (const dialect of ['sqlite', 'postgres'] as const) {
          const actual = compileWhere(result.data, 'metadata', dialect);
          assert.equal(actual.sql, compileWhere(skeleton(result.data), 'metadata', dialect).sql, `${dialect}: ${show(filter)}`);
          for (const binding of actual.bindings) assert.ok(typeof binding === 'string' || Number.isFinite(binding));
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    t.diagnostic(`${compiled} of ${RUNS} random filters valid and compiled (seed ${SEED})`);
    assert.ok(compiled > RUNS / 10, `only ${compiled} of ${RUNS} random filters were valid (seed ${SEED})`);
  });
});
