/**
 * The running API against its own description, fuzzed: /openapi.json is fetched from the built web
 * process (with a worker, a private Redis and SQLite; Postgres too when TEST_DATABASE_URL is set),
 * and for every operation that takes input fast-check generates, from the described schemas alone,
 * inputs the description calls valid and mutations of them that break one described rule. No answer
 * may be a 5xx (a 504 only where it is described), every non-2xx answer is the JSON error shape and
 * a described status, a mutation is refused with a 4xx, and a valid input is never refused as
 * validation_failed but for the few rules a JSON Schema cannot carry (UNDESCRIBABLE below).
 * CONTRACT_FUZZ_SEED and CONTRACT_FUZZ_RUNS replay or widen a run.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import type { ServiceProcess, WebProcess } from '../support/service-processes.js';
import { mutations, validValue, type Mutation, type Schema } from './json-schema-fuzz.js';

const KEY = `contract-fuzz-${randomUUID()}`;
const SEED = Number(process.env['CONTRACT_FUZZ_SEED'] ?? 20_240_611);
const RUNS = Number(process.env['CONTRACT_FUZZ_RUNS'] ?? 50);
const DATABASE_URL = process.env['TEST_DATABASE_URL'];
const SESSION_ID = 'fuzz-session';
const DOCUMENT_ID = 'fuzz-document';
const MAX_FUZZ_BODY_BYTES = 1_048_576; // BODY_LIMIT_BYTES: a larger body is refused unread (413), the hostile tests' case

/**
 * Refusals of described-valid input that JSON Schema cannot state: [operationId or '*', detail path
 * pattern, rule]. Keep it short; each line says why the description cannot carry the rule.
 */
const UNDESCRIBABLE: Array<[string, RegExp, string]> = [
  ['addDocument', /^metadata/, 'max_bytes'], // metadata's size is counted in bytes of its JSON text: no keyword measures that
  ['addDocument', /^metadata/, 'max_depth'], // nesting of arbitrary JSON: expressible only as a schema as deep as the limit
  ['addDocuments', /^documents\.\d+\.metadata/, 'max_bytes'], // the same, for each item of a batch
  ['addDocuments', /^documents\.\d+\.metadata/, 'max_depth'],
  ['addDocuments', /^documents\.\d+\.id$/, 'duplicate_id'], // uniqueness of one property across items: no keyword states it
  ['updateDocumentMetadata', /^metadata/, 'max_bytes'],
  ['updateDocumentMetadata', /^metadata/, 'max_depth'],
  // $and/$or clauses are where filters themselves: the description shows the grammar one level deep
  // (clauses as non-empty objects), since a recursive schema would need the filter as a named component
  ['*', /^where\.\$(and|or)\.\d+/, '*'],
  ['*', /^where\.\$not(\.|$)/, '*'], // a filter under $not: the same grammar, shown one level deep
  ['*', /^where$/, 'max_conditions'], // a count of conditions across nested clauses: no keyword counts that
];

type Location = 'path' | 'query' | 'header';
interface Parameter {
  name: string;
  in: Location;
  required: boolean;
  schema: Schema;
}
interface Operation {
  id: string;
  method: string;
  path: string;
  parameters: Parameter[];
  body: Schema | undefined;
  statuses: Set<number>;
}
interface Input {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  header: Record<string, unknown>;
  body?: unknown;
}
interface Answer {
  status: number;
  contentType: string;
  text: string;
}

function backends(): Array<{ name: string; databaseUrl?: string }> {
  return [{ name: 'sqlite' }, ...(DATABASE_URL ? [{ name: 'postgres', databaseUrl: DATABASE_URL }] : [])];
}

for (const backend of backends()) {
  describe(`the API keeps its description under fuzzing on ${backend.name} (seed ${SEED})`, () => {
    let stack: ServiceStack | undefined;
    let web: WebProcess;
    let worker: ServiceProcess;
    let operations: Operation[] = [];

    before(async () => {
      stack = await startServiceStack({
        env: {
          API_KEYS: KEY,
          RATE_LIMIT_MAX: '1000000',
          WRITE_WAIT_MAX_MS: '5000', // a write's ?wait=true stays well within the client's 15 s
        },
        postgres: backend.databaseUrl !== undefined,
        dataDirPrefix: 'colmeia-contract-fuzz-',
      });
      ({ web, worker } = stack);
      const fixture = [
        send(web.url, 'POST', '/chat/sessions', {}, { id: SESSION_ID }),
        send(web.url, 'POST', '/documents', {}, { id: DOCUMENT_ID, text: 'Bees keep nectar in the comb.', metadata: { lang: 'en' } }),
      ];
      for (const answer of await Promise.all(fixture)) assert.ok(answer.status < 300, answer.text);
      const description = await send(web.url, 'GET', '/openapi.json', {});
      operations = operationsOf(JSON.parse(description.text) as Description);
      assert.ok(operations.length >= 10, `only ${operations.length} operations take input`);
    });

    after(async () => {
      await stack?.close();
    });

    it('answers every generated request of every operation as described', async (t) => {
      const started = performance.now();
      for (const operation of operations) {
        const counts = new Map<number, number>();
        const exercise = async (input: Input, mutation: (Mutation & { where: string }) | undefined) => {
          const valid = await call(web.url, operation, input);
          counts.set(valid.status, (counts.get(valid.status) ?? 0) + 1);
          checkAnswer(operation, valid, { input });
          if (!mutation) return;
          const broken = await call(web.url, operation, mutationInput(input, mutation));
          counts.set(broken.status, (counts.get(broken.status) ?? 0) + 1);
          checkAnswer(operation, broken, { input: mutationInput(input, mutation), mutation: `${mutation.where} ${mutation.rule}` });
        };
        const property = fc.asyncProperty(
          inputOf(operation).chain((input) => {
            const options = mutationsOf(operation, input);
            return fc.tuple(fc.constant(input), options.length > 0 ? fc.constantFrom(...options) : fc.constant(undefined));
          }),
          ([input, mutation]) => exercise(input, mutation),
        );
        try {
          await fc.assert(property, { numRuns: RUNS, seed: SEED, endOnFailure: true });
        } catch (err) {
          throw new Error(
            `${operation.id} (${operation.method.toUpperCase()} ${operation.path}), seed ${SEED}: ${(err as Error).message}\n${String((err as Error).cause)}`,
            { cause: err },
          );
        }
        const histogram = [...counts].map(([status, n]) => `${status}×${n}`).join(' ');
        t.diagnostic(`${operation.id}: ${histogram}`);
      }
      t.diagnostic(`${operations.length} operations in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(web.exitStatus, undefined, web.tail());
      assert.equal(worker.exitStatus, undefined, worker.tail());
    });
  });
}

interface Description {
  paths: Record<
    string,
    Record<string, { operationId: string; parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> }; responses: object }>
  >;
}

/** The operations that take input: path, query or header parameters, or a JSON body. */
function operationsOf(description: Description): Operation[] {
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries(description.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody?.content['application/json']?.schema;
      if (!op.parameters?.length && !body) continue;
      out.push({ id: op.operationId, method, path, parameters: op.parameters ?? [], body, statuses: new Set(Object.keys(op.responses).map(Number)) });
    }
  }
  return out;
}

/** Known values a parameter also takes, so generated requests reach existing rows, not only 404s. */
function knownValues(operation: Operation, parameter: Parameter): string[] {
  if (parameter.name === 'access_token') return [KEY];
  if (parameter.in !== 'path' || parameter.name !== 'id') return [];
  if (operation.path.startsWith('/chat/sessions/')) return [SESSION_ID];
  return operation.path.startsWith('/documents/') ? [DOCUMENT_ID] : [];
}

function locationSchema(operation: Operation, location: Location): Schema {
  const parameters = operation.parameters.filter((p) => p.in === location);
  return {
    type: 'object',
    properties: Object.fromEntries(parameters.map((p) => [p.name, p.schema])),
    required: parameters.filter((p) => p.required).map((p) => p.name),
  };
}

function inputOf(operation: Operation): fc.Arbitrary<Input> {
  const location = (where: Location) => {
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    const parameters = operation.parameters.filter((p) => p.in === where);
    for (const p of parameters) {
      const known = knownValues(operation, p);
      model[p.name] = known.length > 0 ? fc.oneof(fc.constantFrom(...known), validValue(p.schema)) : validValue(p.schema);
    }
    return fc.record(model, { requiredKeys: parameters.filter((p) => p.required).map((p) => p.name) });
  };
  // A body over BODY_LIMIT_BYTES (items of a batch each at its longest are many MB) is refused unread
  // (413, the hostile tests' case), and the connection may close before such a body is all sent.
  const body = operation.body ? validValue(operation.body).filter((value) => Buffer.byteLength(JSON.stringify(value)) <= MAX_FUZZ_BODY_BYTES) : undefined;
  return fc.record({
    path: location('path'),
    query: location('query'),
    header: location('header'),
    ...(body ? { body } : {}),
  });
}

function mutationsOf(operation: Operation, input: Input): Array<Mutation & { where: string }> {
  const out: Array<Mutation & { where: string }> = [];
  for (const where of ['path', 'query', 'header'] as const) {
    for (const m of mutations(locationSchema(operation, where), input[where], { isWire: true })) {
      if (typeof m.value !== 'object' || m.value === null || Array.isArray(m.value)) continue; // parameters, not a body: always a set of names
      if (where === 'path' && (m.rule === 'required' || Object.values(m.value).includes(''))) continue; // a path without the segment is another route
      // Node sends no other header bytes, and HTTP strips a value's surrounding spaces: "  " arrives as an absent header
      if (where === 'header' && !Object.values(m.value).every((v) => typeof v === 'string' && /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(v))) continue;
      out.push({ ...m, where });
    }
  }
  if (operation.body) for (const m of mutations(operation.body, input.body)) out.push({ ...m, where: 'body' });
  return out;
}

function mutationInput(input: Input, mutation: Mutation & { where: string }): Input {
  return { ...input, [mutation.where]: mutation.value };
}

function checkAnswer(operation: Operation, answer: Answer, context: { input: Input; mutation?: string }): void {
  const label = `${context.mutation ? `mutation (${context.mutation})` : 'valid input'} ${JSON.stringify(context.input).slice(0, 600)} → ${answer.status} ${answer.text.slice(0, 400)}`;
  assert.ok(answer.status < 500 || (answer.status === 504 && operation.statuses.has(504)), `a 5xx: ${label}`);
  assert.ok(operation.statuses.has(answer.status), `status ${answer.status} is not described: ${label}`);
  if (answer.status >= 300) {
    assert.match(answer.contentType, /^application\/json/, label);
    const body = JSON.parse(answer.text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    assert.equal(typeof body.error?.code, 'string', label);
    assert.equal(typeof body.error?.message, 'string', label);
    if (!context.mutation && answer.status === 400 && body.error?.code === 'validation_failed') {
      const details = (body.error.details ?? []) as Array<{ path: string; rule: string }>;
      const isUndescribable = (d: { path: string; rule: string }) =>
        UNDESCRIBABLE.some(([id, path, rule]) => (id === '*' || id === operation.id) && path.test(d.path) && (rule === '*' || rule === d.rule));
      assert.ok(details.length > 0 && details.every(isUndescribable), `described-valid input refused: ${label}`);
    }
  }
  if (context.mutation) assert.ok(answer.status >= 400 && answer.status < 500, `a mutation was not refused: ${label}`);
}

async function call(base: string, operation: Operation, input: Input): Promise<Answer> {
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(typeof input.path[name] === 'string' ? input.path[name] : JSON.stringify(input.path[name] ?? '')),
  );
  const query = new URLSearchParams(Object.entries(input.query).map(([name, value]): [string, string] => [name, String(value)])).toString();
  const headers = Object.fromEntries(Object.entries(input.header).map(([name, value]) => [name, String(value)]));
  const body = operation.body ? input.body : undefined;
  const isOversize = body !== undefined && Buffer.byteLength(JSON.stringify(body)) > BODY_LIMIT_BYTES;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send(base, operation.method.toUpperCase(), `${path}${query ? `?${query}` : ''}`, headers, body);
    } catch (err) {
      // the server closes the connection of a refused oversize body right after its 413: on a loaded machine the close can win the race
      const code = (err as NodeJS.ErrnoException).code;
      if (!isOversize || attempt === 3 || !['ECONNRESET', 'EPIPE'].includes(code ?? '')) throw err;
    }
  }
}

/** The web's BODY_LIMIT_BYTES (its default): a larger body is answered 413 from its Content-Length alone. */
const BODY_LIMIT_BYTES = 1_048_576;

/**
 * One request over node:http (no URL normalisation: "/jobs/ingest/.." is sent as is); an event stream
 * ends at its head. A body over BODY_LIMIT_BYTES is announced by Content-Length but not sent: the
 * server must answer from the head alone, and it closes the connection then, so a client still
 * writing would lose the answer to a broken pipe.
 */
function send(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const url = new URL(base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const isOversize = payload !== undefined && Buffer.byteLength(payload) > BODY_LIMIT_BYTES;
  const allHeaders = {
    authorization: `Bearer ${KEY}`,
    ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(isOversize ? { 'content-length': String(Buffer.byteLength(payload)) } : {}),
    ...headers,
  };
  return new Promise((resolve, reject) => {
    // agent: false, a connection per request: a kept-alive one may be closed by the server's keep-alive timeout just as it is reused
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: allHeaders, timeout: 15_000, agent: false }, (res) => {
      const contentType = String(res.headers['content-type'] ?? '');
      if (contentType.startsWith('text/event-stream')) {
        resolve({ status: res.statusCode ?? 0, contentType, text: '' });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, contentType, text: Buffer.concat(chunks).toString('utf8') });
        if (isOversize) req.destroy();
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    if (isOversize) req.flushHeaders();
    else req.end(payload);
  });
}
