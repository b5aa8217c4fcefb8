/**
 * fast-check arbitraries from the JSON Schema subset the API description uses (type and type
 * arrays, enum, const, string lengths and pattern, number ranges, integer, object properties,
 * required, additionalProperties, propertyNames, minProperties, array items and sizes, anyOf, oneOf;
 * a schema without constraints is any JSON), a validator for the same subset, and mutations that
 * break one rule of a valid value. The validator is the judge: a generated value it refuses is
 * filtered out, and so is a mutation it still accepts. String lengths count code points, as JSON
 * Schema does.
 */
import fc from 'fast-check';

export type Schema = { [keyword: string]: unknown };

const MAX_GENERATED_CHARS = 40; // a generated string's usual length cap; the described maximum is tried on its own
const MAX_DEPTH = 4;

/** Values the schema calls valid. */
export function validValue(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  return candidates(schema, depth).filter((value) => problems(schema, value).length === 0);
}

function candidates(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema['const']);
  if (Array.isArray(schema['enum'])) return fc.constantFrom(...(schema['enum'] as unknown[]));
  const branches = (schema['anyOf'] ?? schema['oneOf']) as Schema[] | undefined;
  if (branches) return fc.oneof(...branches.map((branch) => validValue({ ...withoutKeys(schema, 'anyOf', 'oneOf'), ...branch }, depth)));
  const type = schema['type'];
  if (Array.isArray(type)) return fc.oneof(...(type as string[]).map((t) => candidates({ ...schema, type: t }, depth)));
  switch (type) {
    case 'string':
      return stringValue(schema);
    case 'integer':
      return fc.integer({ min: numberOr(schema['minimum'], -1e9), max: numberOr(schema['maximum'], 1e9) });
    case 'number':
      return fc.double({ min: numberOr(schema['minimum'], -1e12), max: numberOr(schema['maximum'], 1e12), noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(depth >= MAX_DEPTH ? fc.constant(null) : validValue(asSchema(schema['items']), depth + 1), {
        minLength: numberOr(schema['minItems'], 0),
        maxLength: Math.min(numberOr(schema['maxItems'], 4), 4),
      });
    case 'object':
      return objectValue(schema, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 }); // unconstrained: any JSON
  }
}

function stringValue(schema: Schema): fc.Arbitrary<string> {
  if (isObject(schema['contentSchema'])) return validValue(schema['contentSchema']).map((value) => JSON.stringify(value)); // contentMediaType: application/json
  const minLength = numberOr(schema['minLength'], 0);
  const maxLength = numberOr(schema['maxLength'], Infinity);
  const pattern = schema['pattern'];
  const usual =
    typeof pattern === 'string'
      ? fc.stringMatching(new RegExp(pattern), { maxLength: MAX_GENERATED_CHARS })
      : fc.string({ minLength, maxLength: Math.min(maxLength, MAX_GENERATED_CHARS), unit: 'grapheme' });
  if (!Number.isFinite(maxLength)) return usual;
  // the described maximum, in letters and in astral characters (one code point, two UTF-16 units)
  return fc.oneof({ arbitrary: usual, weight: 8 }, fc.constantFrom('x'.repeat(maxLength), '😀'.repeat(maxLength), `a${'😀'.repeat(maxLength - 1)}`));
}

function objectValue(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
  const required = new Set((schema['required'] ?? []) as string[]);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) model[name] = depth >= MAX_DEPTH ? fc.constant(null) : validValue(property, depth + 1);
  const known = fc.record(model, { requiredKeys: [...required] });
  const additional = schema['additionalProperties'] ?? true;
  if (additional === false || depth >= MAX_DEPTH) return known;
  const names = stringValue({ type: 'string', ...asSchema(schema['propertyNames']) }).filter(
    (name) => !(name in properties) && problems(asSchema(schema['propertyNames']), name).length === 0,
  );
  const minKeys = Math.max(0, numberOr(schema['minProperties'], 0) - Object.keys(properties).length);
  const extra = fc.dictionary(names, validValue(asSchema(additional), depth + 1), { minKeys, maxKeys: Math.max(minKeys, 3), noNullPrototype: true });
  return fc.tuple(known, extra).map(([a, b]) => ({ ...b, ...a }));
}

/** What the schema refuses in value, one line per broken rule; [] when value is valid. */
export function problems(schema: Schema, value: unknown, at = ''): string[] {
  const out: string[] = [];
  const fail = (rule: string) => out.push(`${at || '(root)'}: ${rule}`);
  if ('const' in schema && JSON.stringify(schema['const']) !== JSON.stringify(value)) fail('const');
  if (Array.isArray(schema['enum']) && !(schema['enum'] as unknown[]).some((v) => JSON.stringify(v) === JSON.stringify(value))) fail('enum');
  const anyOf = schema['anyOf'] as Schema[] | undefined;
  if (anyOf && !anyOf.some((branch) => problems(branch, value, at).length === 0)) fail('anyOf');
  const oneOf = schema['oneOf'] as Schema[] | undefined;
  if (oneOf && oneOf.filter((branch) => problems(branch, value, at).length === 0).length !== 1) fail('oneOf');
  const type = schema['type'];
  if (type !== undefined && !(Array.isArray(type) ? (type as string[]) : [type as string]).some((t) => hasType(t, value))) return [...out, `${at}: type`];
  if (typeof value === 'string') {
    const length = [...value].length;
    if (length < numberOr(schema['minLength'], 0)) fail('minLength');
    if (length > numberOr(schema['maxLength'], Infinity)) fail('maxLength');
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern']).test(value)) fail('pattern');
    if (isObject(schema['contentSchema'])) out.push(...contentProblems(schema['contentSchema'], value, at));
  }
  if (typeof value === 'number') {
    if (value < numberOr(schema['minimum'], -Infinity)) fail('minimum');
    if (value > numberOr(schema['maximum'], Infinity)) fail('maximum');
  }
  if (Array.isArray(value)) {
    if (value.length < numberOr(schema['minItems'], 0)) fail('minItems');
    if (value.length > numberOr(schema['maxItems'], Infinity)) fail('maxItems');
    if (schema['items'] !== undefined) value.forEach((item, i) => out.push(...problems(asSchema(schema['items']), item, `${at}[${i}]`)));
  }
  if (isObject(value)) out.push(...objectProblems(schema, value, at));
  return out;
}

function contentProblems(schema: Schema, text: string, at: string): string[] {
  try {
    return problems(schema, JSON.parse(text), at);
  } catch {
    return [`${at}: contentMediaType`];
  }
}

function objectProblems(schema: Schema, value: Record<string, unknown>, at: string): string[] {
  const out: string[] = [];
  const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
  for (const name of (schema['required'] ?? []) as string[]) if (!(name in value)) out.push(`${at}.${name}: required`);
  if (Object.keys(value).length < numberOr(schema['minProperties'], 0)) out.push(`${at}: minProperties`);
  for (const [name, child] of Object.entries(value)) {
    if (isObject(schema['propertyNames']) && problems(schema['propertyNames'], name).length > 0) out.push(`${at}.${name}: propertyNames`);
    const additional = schema['additionalProperties'];
    if (name in properties) out.push(...problems(properties[name] as Schema, child, `${at}.${name}`));
    else if (additional === false) out.push(`${at}.${name}: additionalProperties`);
    else if (isObject(additional)) out.push(...problems(additional, child, `${at}.${name}`));
  }
  return out;
}

export interface Mutation {
  value: unknown;
  rule: string; // which rule it breaks, for the failure message
}

/** Variants of a valid value that each break one rule of the schema somewhere in it (each checked to be invalid). */
export function mutations(schema: Schema, value: unknown, options: { isWire?: boolean } = {}): Mutation[] {
  const out: Mutation[] = [];
  visit(schema, value, (sub, current, replace) => {
    for (const [rule, next] of breakers(sub, current, options.isWire ?? false)) out.push({ rule, value: replace(next) });
  });
  return out.filter((mutation) => problems(schema, mutation.value).length > 0);
}

type Replace = (next: unknown) => unknown;

/** Calls fn for every (schema, value) pair of the tree with a function that rebuilds the root with that value replaced. */
function visit(schema: Schema, value: unknown, fn: (schema: Schema, value: unknown, replace: Replace) => void, replace: Replace = (next) => next): void {
  fn(schema, value, replace);
  if (isObject(value)) {
    const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
    const additional = schema['additionalProperties'];
    for (const [name, child] of Object.entries(value)) {
      const sub = properties[name] ?? (isObject(additional) ? additional : undefined);
      if (sub) visit(sub, child, fn, (next) => replace({ ...value, [name]: next }));
    }
  }
  if (Array.isArray(value) && isObject(schema['items'])) {
    value.forEach((item, i) => visit(schema['items'] as Schema, item, fn, (next) => replace(value.map((v: unknown, j) => (j === i ? next : v)))));
  }
}

function breakers(schema: Schema, value: unknown, isWire: boolean): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  const types = schema['type'] === undefined ? [] : [schema['type']].flat();
  if (types.length > 0 || schema['anyOf'] || schema['enum']) {
    const others: unknown[] = isWire ? ['not-a-number', '1.5', ' 1', ''] : [12345, 'text', true, null, [1], { key: 1 }];
    for (const other of others) out.push(['type', other]);
  }
  if (Array.isArray(schema['enum'])) out.push(['enum', 'not-one-of-them']);
  if (typeof value === 'string') {
    const maxLength = numberOr(schema['maxLength'], Infinity);
    if (Number.isFinite(maxLength))
      out.push(['maxLength', 'x'.repeat(maxLength + 1)], ['maxLength', value + 'x'.repeat(Math.max(1, maxLength + 1 - value.length))]);
    if (numberOr(schema['minLength'], 0) > 0) out.push(['minLength', '']);
    if (isObject(schema['contentSchema'])) out.push(['contentMediaType', '{not json'], ['contentSchema', '[]'], ['contentSchema', '{"bad key!":1}']);
    if (typeof schema['pattern'] === 'string') for (const odd of ['', ' ', '   ', 'a b', '-x', '!', '/', '\u0000', 'é']) out.push(['pattern', odd]);
  }
  if (typeof value === 'number') {
    if (typeof schema['maximum'] === 'number') out.push(['maximum', schema['maximum'] + 1]);
    if (typeof schema['minimum'] === 'number') out.push(['minimum', schema['minimum'] - 1]);
    if (types.includes('integer')) out.push(['integer', value + 0.5]);
  }
  if (Array.isArray(value)) {
    if (typeof schema['maxItems'] === 'number')
      out.push(['maxItems', Array.from({ length: schema['maxItems'] + 1 }, (_, i): unknown => (value as unknown[])[i % Math.max(1, value.length)] ?? 'x')]);
    if (numberOr(schema['minItems'], 0) > 0) out.push(['minItems', []]);
  }
  if (isObject(value)) {
    if (schema['additionalProperties'] === false) out.push(['additionalProperties', { ...value, unknownKey: 1 }]);
    for (const name of (schema['required'] ?? []) as string[]) out.push(['required', withoutKeys(value, name)]);
    if (isObject(schema['propertyNames'])) out.push(['propertyNames', { ...value, 'bad key!': 'x' }]);
    if (numberOr(schema['minProperties'], 0) > 0) out.push(['minProperties', {}]);
  }
  return out;
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    default:
      return false;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asSchema(value: unknown): Schema {
  return isObject(value) ? value : {};
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

function withoutKeys<T extends Record<string, unknown>>(value: T, ...names: string[]): T {
  const copy = { ...value };
  for (const name of names) delete copy[name];
  return copy;
}
