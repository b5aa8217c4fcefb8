/**
 * The hostile requests of hostile.e2e.test.ts: malformed JSON, wrong types and content types,
 * non-finite, huge and negative numbers, deep nesting, multi-megabyte strings, NUL and lone
 * surrogates, prototype keys, SQL and JSON-path injection in filters, unknown operators, missing or
 * wrong keys, unknown routes and methods. Each names the status it must get.
 * None of them may change stored data: every one is refused before anything is written.
 */
export interface Probe {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  status?: number | number[]; // expected status; every probe must get some 4xx in any case
}

export interface ProbeContext {
  key: string; // a valid API key
  sessionId: string; // an existing chat session
  documentId: string; // an existing document
}

export function hostileProbes({ key, sessionId, documentId }: ProbeContext): Probe[] {
  const auth = { authorization: `Bearer ${key}` };
  const jsonHeaders = { ...auth, 'content-type': 'application/json' };
  const post = (name: string, path: string, body: unknown, status: number | number[] = 400): Probe => ({
    name,
    method: 'POST',
    path,
    headers: jsonHeaders,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    status,
  });
  const raw = (name: string, path: string, body: string, status: number | number[] = 400, headers: Record<string, string> = jsonHeaders): Probe => ({
    name,
    method: 'POST',
    path,
    headers,
    body,
    status,
  });
  const get = (name: string, path: string, status: number | number[] = 400, headers: Record<string, string> = auth): Probe => ({ name, path, headers, status });
  /** A multipart POST /documents; parts are [field, file name ('' for a plain field), content]. */
  const upload = (name: string, parts: Array<[string, string, string]>, status: number): Probe => {
    const body = parts
      .map(
        ([field, fileName, content]) =>
          `--b\r\nContent-Disposition: form-data; name="${field}"${fileName ? `; filename="${fileName}"\r\nContent-Type: application/octet-stream` : ''}\r\n\r\n${content}\r\n`,
      )
      .join('');
    return raw(`upload: ${name}`, '/documents', `${body}--b--\r\n`, status, { ...auth, 'content-type': 'multipart/form-data; boundary=b' });
  };
  const doc = (name: string, body: unknown, status: number | number[] = 400) => post(`document: ${name}`, '/documents', body, status);
  const search = (name: string, body: unknown) => post(`search: ${name}`, '/search', body);
  const where = (name: string, filter: unknown) => post(`where: ${name}`, '/search', { query: 'cats', where: filter });
  const list = (name: string, query: string) => get(`list: ${name}`, `/documents?${query}`);
  const oneOff = `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`;
  const deep = (levels: number, leaf: unknown, wrap: (inner: unknown) => unknown): unknown => {
    let value = leaf;
    for (let i = 0; i < levels; i++) value = wrap(value);
    return value;
  };

  return [
    // Authentication (A1): 401 everywhere but /health, the key never in a URL outside event streams.
    get('auth: missing', '/documents', 401, {}),
    get('auth: empty header', '/documents', 401, { authorization: '' }),
    get('auth: scheme only', '/documents', 401, { authorization: 'Bearer' }),
    get('auth: scheme and space', '/documents', 401, { authorization: 'Bearer ' }),
    get('auth: basic scheme', '/documents', 401, { authorization: `Basic ${Buffer.from(`user:${key}`).toString('base64')}` }),
    get('auth: key without scheme', '/documents', 401, { authorization: key }),
    get('auth: one byte off', '/documents', 401, { authorization: `Bearer ${oneOff}` }),
    get('auth: prefix of the key', '/documents', 401, { authorization: `Bearer ${key.slice(0, 8)}` }),
    get('auth: key plus a byte', '/documents', 401, { authorization: `Bearer ${key}x` }),
    get('auth: two tokens', '/documents', 401, { authorization: `Bearer ${key} ${key}` }),
    get('auth: key in the query of a JSON route', `/documents?access_token=${encodeURIComponent(key)}`, 401, {}),
    get('auth: wrong access_token on an event stream', `/chat/sessions/${sessionId}/events?access_token=nope`, 401, {}),
    get('auth: status without key', '/status', 401, {}),
    get('auth: ready without key', '/ready', 401, {}),
    { name: 'auth: post without key', method: 'POST', path: '/documents', headers: { 'content-type': 'application/json' }, body: '{"text":"x"}', status: 401 },
    {
      name: 'auth: preflight without key and without CORS',
      method: 'OPTIONS',
      path: '/documents',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      status: 401,
    },

    // Unknown routes, methods and path tricks (V9): ids are validated, never paths.
    get('route: unknown', '/nope', 404),
    get('route: too deep', '/documents/a/b', 404),
    { name: 'route: PUT', method: 'PUT', path: `/documents/${documentId}`, headers: jsonHeaders, body: '{"text":"x"}', status: 404 },
    { name: 'route: PATCH', method: 'PATCH', path: '/documents', headers: jsonHeaders, body: '{"status":"ready"}', status: 404 },
    { name: 'route: DELETE collection', method: 'DELETE', path: '/documents', headers: auth, status: 404 },
    { name: 'route: PROPFIND', method: 'PROPFIND', path: '/documents', headers: auth, status: 404 },
    { name: 'route: TRACE', method: 'TRACE', path: '/documents', headers: auth, status: [404, 405] },
    get('route: dot-dot', '/%2e%2e/%2e%2e/etc/passwd', 404),
    get('id: traversal', '/documents/..%2f..%2fetc%2fpasswd'),
    get('id: encoded slash', '/documents/a%2Fb'),
    get('id: NUL', '/documents/a%00b'),
    get('id: broken percent-encoding', '/documents/%E0%A4%A'),
    get('id: 256 characters', `/documents/${'a'.repeat(256)}`),
    get('id: device name', '/documents/CON', 404),
    get('job: unknown queue', '/jobs/nope/1'),
    get('job: traversal id', '/jobs/ingest/..%2f..%2fx'),
    { name: 'id: delete traversal', method: 'DELETE', path: '/documents/..%2f..%2fetc', headers: auth, status: 400 },

    // Bodies that are not JSON objects, wrong media types and encodings (V1).
    raw('body: malformed JSON', '/documents', '{"text": "x"'),
    raw('body: trailing comma', '/documents', '{"text": "x",}'),
    raw('body: single quotes', '/documents', "{'text': 'x'}"),
    raw('body: NaN literal', '/search', '{"query": "x", "k": NaN}'),
    raw('body: Infinity literal', '/search', '{"query": "x", "k": Infinity}'),
    raw('body: empty', '/documents', ''),
    raw('body: null', '/documents', 'null'),
    raw('body: string', '/documents', '"text"'),
    raw('body: number', '/documents', '42'),
    raw('body: array', '/documents', '[{"text": "x"}]'),
    raw('body: BOM and garbage', '/documents', '\ufeff\u0000{'),
    raw('media: text/plain', '/documents', '{"text":"x"}', 415, { ...auth, 'content-type': 'text/plain' }),
    raw('media: form', '/documents', 'text=x', 415, { ...auth, 'content-type': 'application/x-www-form-urlencoded' }),
    raw('media: multipart elsewhere', '/search', '--b\r\n\r\nx\r\n--b--', 415, { ...auth, 'content-type': 'multipart/form-data; boundary=b' }),
    raw('media: multipart upload without a file part', '/documents', '--b\r\n\r\nx\r\n--b--', 400, {
      ...auth,
      'content-type': 'multipart/form-data; boundary=b',
    }), // POST /documents takes uploads
    upload('executable', [['file', 'x.exe', 'MZ\u0090\u0000']], 415),
    upload('pdf header then garbage', [['file', 'x.pdf', '%PDF-1.7\n\u0001\u0002garbage']], 400),
    upload('traversal file name with binary', [['file', '../../etc/passwd.txt', 'a\u0000b']], 400),
    upload(
      'two files',
      [
        ['file', 'a.txt', 'a'],
        ['file', 'b.txt', 'b'],
      ],
      400,
    ),
    upload(
      'status field',
      [
        ['status', '', 'ready'],
        ['file', 'a.txt', 'a'],
      ],
      400,
    ),
    upload(
      'metadata with a NUL',
      [
        ['metadata', '', '{"a":"\\u0000"}'],
        ['file', 'a.txt', 'a'],
      ],
      400,
    ),
    raw('media: none', '/documents', '{"text":"x"}', 415, auth),
    raw('media: latin1 charset', '/documents', '{"text":"x"}', 415, { ...jsonHeaders, 'content-type': 'application/json; charset=latin1' }),
    raw('media: unknown content-encoding', '/documents', '{"text":"x"}', 415, { ...jsonHeaders, 'content-encoding': 'compress' }),
    raw('media: gzip that is not gzip', '/documents', '{"text":"x"}', 400, { ...jsonHeaders, 'content-encoding': 'gzip' }),
    raw('size: 2 MB body', '/documents', JSON.stringify({ text: 'a'.repeat(2 * 1024 * 1024) }), 413),
    raw('size: 1000-deep array', '/documents', `${'['.repeat(1000)}${']'.repeat(1000)}`),
    raw('size: 100 000-deep array', '/documents', `${'['.repeat(100_000)}${']'.repeat(100_000)}`),

    // Documents: types, sizes, ids, text Postgres cannot store (V3, V4, V7, V8, V9).
    doc('text missing', { title: 'x' }),
    doc('text number', { text: 123 }),
    doc('text null', { text: null }),
    doc('text array', { text: ['a'] }),
    doc('text object', { text: { $gt: '' } }),
    doc('text empty', { text: '' }),
    doc('text blank', { text: ' \n\t ' }),
    doc('text over MAX_TEXT_CHARS', { text: 'a'.repeat(500_001) }),
    doc('text NUL', { text: 'a\u0000b' }),
    doc('text lone high surrogate', { text: 'a\ud800b' }),
    doc('text lone low surrogate', { text: '\udc00' }),
    doc('title number', { text: 'x', title: 123 }),
    doc('title too long', { text: 'x', title: 't'.repeat(501) }),
    doc('title NUL', { text: 'x', title: 'a\u0000' }),
    doc('id traversal', { id: '../../etc/passwd', text: 'x' }),
    doc('id slash', { id: 'a/b', text: 'x' }),
    doc('id backslash', { id: 'a\\b', text: 'x' }),
    doc('id NUL', { id: 'a\u0000b', text: 'x' }),
    doc('id 256 characters', { id: 'a'.repeat(256), text: 'x' }),
    doc('id number', { id: 123, text: 'x' }),
    doc('id empty', { id: '', text: 'x' }),
    doc('id leading dot', { id: '.hidden', text: 'x' }),
    doc('metadata array', { text: 'x', metadata: [] }),
    doc('metadata string', { text: 'x', metadata: 'x' }),
    doc('metadata null', { text: 'x', metadata: null }),
    raw('document: metadata 1e309', '/documents', '{"text":"x","metadata":{"n":1e309}}'),
    raw('document: metadata -1e309', '/documents', '{"text":"x","metadata":{"n":[-1e309]}}'),
    doc('metadata NUL value', { text: 'x', metadata: { a: 'b\u0000' } }),
    doc('metadata lone surrogate key', { text: 'x', metadata: { '\ud800': 1 } }),
    doc('metadata 10 000 keys', { text: 'x', metadata: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i])) }),
    doc('metadata 1000 deep', { text: 'x', metadata: deep(1000, 1, (inner) => ({ a: inner })) }),
    raw('document: metadata 20 000 deep arrays', '/documents', `{"text":"x","metadata":{"a":${'['.repeat(20_000)}1${']'.repeat(20_000)}}}`),
    doc('mass assignment: status', { text: 'x', status: 'ready' }),
    doc('mass assignment: embedding', { text: 'x', embedding: [1, 2, 3] }),
    doc('mass assignment: chunk_count', { text: 'x', chunk_count: 9 }),
    doc('mass assignment: content_hash', { text: 'x', content_hash: 'ab' }),
    raw('document: __proto__ at the top', '/documents', '{"text":"x","__proto__":{"polluted":1}}'),
    raw('document: constructor.prototype at the top', '/documents', '{"text":"x","constructor":{"prototype":{"polluted":1}}}'),

    // Search: k and query (V2).
    search('k zero', { query: 'cats', k: 0 }),
    search('k negative', { query: 'cats', k: -1 }),
    search('k fraction', { query: 'cats', k: 1.5 }),
    search('k string', { query: 'cats', k: '10' }),
    search('k over MAX_K', { query: 'cats', k: 101 }),
    search('k 2^32+5', { query: 'cats', k: 4294967301 }),
    search('k 2^53', { query: 'cats', k: 2 ** 53 }),
    raw('search: k 1e309', '/search', '{"query":"cats","k":1e309}'),
    raw('search: k -1e309', '/search', '{"query":"cats","k":-1e309}'),
    raw('search: k 1e-400', '/search', '{"query":"cats","k":1e-400}'),
    search('k null', { query: 'cats', k: null }),
    search('query missing', { k: 3 }),
    search('query number', { query: 5 }),
    search('query blank', { query: '   ' }),
    search('query too long', { query: 'q'.repeat(2_001) }),
    search('query NUL', { query: 'a\u0000' }),
    search('unknown key', { query: 'cats', limit: 5 }),

    // Filters: injection in names and values, unknown operators, wrong types, sizes (V3, V5).
    where('SQL in a field name', { "a') OR 1=1 --": 1 }),
    where('JSON path in a field name', { '$."a"': 1 }),
    where('quote in a field name', { 'a"b': 1 }),
    where('dot', { '.': 1 }),
    where('dot-dot', { '..': 1 }),
    where('empty segment', { 'a..b': 1 }),
    where('65-character field', { [`${'f'.repeat(65)}`]: 1 }),
    where('unknown top operator', { $where: 'sleep(10)' }),
    where('unknown field operator', { a: { $regex: '.*' } }),
    where('object value', { lang: { name: 'x' } }),
    where('list range', { a: { $gt: [1] } }),
    where('$in not a list', { a: { $in: 'x' } }),
    where('$in of objects', { a: { $in: [{ b: 1 }] } }),
    where('$and not a list', { $and: { a: 1 } }),
    where('$or empty', { $or: [] }),
    where('NUL value', { a: 'x\u0000' }),
    where('lone surrogate value', { a: { $in: ['\udfff'] } }),
    where('__proto__ object value', JSON.parse('{"__proto__":{"polluted":1}}')),
    where(
      '$and 1000 deep',
      deep(1000, { a: 1 }, (inner) => ({ $and: [inner] })),
    ),
    where('$in of 100 000', { a: { $in: Array.from({ length: 100_000 }, (_, i) => i) } }),
    where('65 conditions', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, i]))),
    where('a list', [{ a: 1 }]),
    where('a string', '{"a":1}'),
    raw('where: 1e309 value', '/search', '{"query":"cats","where":{"a":{"$lt":1e309}}}'),
    post('remove: empty filter', '/documents/delete', { where: {} }),
    post('remove: no filter', '/documents/delete', { dryRun: true }),
    post('remove: dryRun string', '/documents/delete', { where: { a: 1 }, dryRun: 'yes' }),
    post('remove: SQL in a field name', '/documents/delete', { where: { 'a; DROP TABLE documents': 1 } }),

    // GET /documents query strings.
    list('where empty', 'where='),
    list('where malformed', 'where=%7B'),
    list('where null', 'where=null'),
    list('where injection', `where=${encodeURIComponent('{"a\') OR 1=1 --":1}')}`),
    list('where repeated', 'where=%7B%7D&where=%7B%7D'),
    list('where bracket syntax', 'where[a]=1'),
    list('limit hex', 'limit=0x10'),
    list('limit negative', 'limit=-1'),
    list('limit 1e309', 'limit=1e309'),
    list('limit over MAX_PAGE_SIZE', 'limit=201'),
    list('status unknown', 'status=hacked'),
    list('cursor traversal', 'cursor=..%2F..%2Fx'),
    list('unknown parameter', 'sort=id;DROP'),

    // Chat: sessions, questions, streams.
    post('chat: session id traversal', '/chat/sessions', { id: '../x' }),
    post('chat: session mass assignment', '/chat/sessions', { id: 'ok-id', createdAt: 0 }),
    post('chat: question to unknown session', '/chat/sessions/nope/messages', { content: 'hi' }, 404),
    post('chat: question blank', `/chat/sessions/${sessionId}/messages`, { content: '  ' }),
    post('chat: question NUL', `/chat/sessions/${sessionId}/messages`, { content: 'a\u0000' }),
    post('chat: question k 1e6', `/chat/sessions/${sessionId}/messages`, { content: 'hi', k: 1e6 }),
    post('chat: question bad filter', `/chat/sessions/${sessionId}/messages`, { content: 'hi', where: { $where: '1' } }),
    post('chat: question role', `/chat/sessions/${sessionId}/messages`, { content: 'hi', role: 'assistant' }),
    get('chat: messages after text', `/chat/sessions/${sessionId}/messages?after=abc`),
    get('chat: messages after negative', `/chat/sessions/${sessionId}/messages?after=-1`),
    get('chat: events of unknown session', '/chat/sessions/nope/events', 404),
    get('chat: events bad Last-Event-ID', `/chat/sessions/${sessionId}/events`, 400, { ...auth, 'last-event-id': 'abc' }),
    get('chat: events unknown parameter', `/chat/sessions/${sessionId}/events?evil=1`),

    // Requests Node's parser refuses before Express: still the JSON shape.
    get('headers: 70 KB header (over HTTP_MAX_HEADER_BYTES)', '/documents', 431, { ...auth, 'x-big': 'a'.repeat(70_000) }),
  ];
}

/**
 * Cross-collection probes, built from the running API's own description (/openapi.json, generated
 * from the route registry), so a route added to the registry is probed without editing this file.
 * For a key over collection A with a given role, every operation is sent:
 * - for collection B (its path's {collection}, or B's documents, sessions, jobs and keys): a 404
 *   answered exactly as for an unknown collection, or for a route above the role that names no
 *   collection in its path, the 403 that comes first;
 * - un-prefixed (the default collection's routes, outside A): the collection 404;
 * - for collection A: 403 `forbidden` when the route needs more than the role (or every collection),
 *   else an answer that is no refusal of the key (not 401, not 403, not a collection 404, no 5xx).
 */
export type ScopeRole = 'read' | 'write' | 'admin';

export interface ScopeFixture {
  collection: string;
  documentId: string;
  sessionId: string;
  ingestJobId: string;
  answerJobId: string;
  answerMessageId: number; // the answer to that question (GET /chat/messages/{id}/sources)
  keyId: string; // a key over this collection only (DELETE /keys/{id} may revoke it)
}

export type ScopeExpectation = { kind: 'collection_not_found'; collection: string } | { kind: 'not_found' } | { kind: 'forbidden' } | { kind: 'allowed' };

export interface ScopeProbe {
  name: string;
  operationId: string;
  method: string;
  path: string;
  body: string | undefined;
  expect: ScopeExpectation;
}

interface DescribedOperation {
  operationId: string;
  'x-access': 'public' | ScopeRole;
  'x-needs-all-collections'?: boolean;
  requestBody?: { content: Record<string, { example?: unknown }> };
}

export interface ScopeDescription {
  paths: Record<string, Record<string, DescribedOperation>>;
}

const ROLE_ORDER: readonly ScopeRole[] = ['read', 'write', 'admin'];

export function scopeProbes(description: ScopeDescription, role: ScopeRole, inside: ScopeFixture, outside: ScopeFixture): ScopeProbe[] {
  const probes: ScopeProbe[] = [];
  for (const [path, operations] of Object.entries(description.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      if (op['x-access'] === 'public') continue;
      const isAboveRole = ROLE_ORDER.indexOf(role) < ROLE_ORDER.indexOf(op['x-access']) || op['x-needs-all-collections'] === true;
      const probe = (context: string, fixture: ScopeFixture | undefined, expect: ScopeExpectation): ScopeProbe => ({
        name: `${role} key over ${inside.collection}: ${method.toUpperCase()} ${path} (${context})`,
        operationId: op.operationId,
        method: method.toUpperCase(),
        path: fillPath(path, fixture),
        body: bodyOf(op, fixture ?? inside),
        expect,
      });
      const inScope = probe('its collection', inside, { kind: isAboveRole ? 'forbidden' : 'allowed' });
      if (path.includes('{collection}')) {
        probes.push(probe('another collection', outside, { kind: 'collection_not_found', collection: outside.collection }), inScope);
      } else if (description.paths[`/collections/{collection}${path}`]) {
        probes.push(probe('the default collection', defaultFixture(outside), { kind: 'collection_not_found', collection: 'default' }));
      } else if (path.includes('{')) {
        probes.push(probe("another collection's", outside, { kind: isAboveRole ? 'forbidden' : 'not_found' }), inScope);
      } else {
        probes.push(inScope);
      }
    }
  }
  return probes;
}

/** Un-prefixed routes are the default collection's: the outside fixture's ids stand in (they are not found there either). */
function defaultFixture(outside: ScopeFixture): ScopeFixture {
  return { ...outside, collection: 'default' };
}

function fillPath(path: string, fixture: ScopeFixture | undefined): string {
  const bare = path.replace(/^\/collections\/\{collection\}/, '');
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (!fixture) throw new Error(`${path}: no fixture for {${name}}`);
    if (name === 'collection') return fixture.collection;
    if (name === 'queue') return 'ingest';
    if (name === 'field') return 'lang'; // a metadata field: declared or not, the route's answer within scope is no refusal
    if (name !== 'id') throw new Error(`${path}: the scope probes do not know what {${name}} names: add it to fillPath`);
    if (bare.startsWith('/documents/')) return encodeURIComponent(fixture.documentId);
    if (bare.startsWith('/chat/sessions/')) return encodeURIComponent(fixture.sessionId);
    if (bare.startsWith('/jobs/answer/')) return encodeURIComponent(fixture.answerJobId);
    if (bare.startsWith('/jobs/')) return encodeURIComponent(fixture.ingestJobId);
    if (bare.startsWith('/keys/')) return encodeURIComponent(fixture.keyId);
    if (bare.startsWith('/chat/messages/')) return String(fixture.answerMessageId);
    throw new Error(`${path}: the scope probes do not know what {id} names: add it to fillPath`);
  });
}

/** The operation's described example body; a new key's scope is the fixture's collection. */
function bodyOf(op: DescribedOperation, fixture: ScopeFixture): string | undefined {
  const example = op.requestBody?.content['application/json']?.example;
  if (example === undefined) return undefined;
  return JSON.stringify(op.operationId === 'createKey' ? { ...(example as object), collections: [fixture.collection] } : example);
}
