/**
 * A stand-in for Ollama that speaks its HTTP protocol (the paths, bodies, NDJSON streaming and
 * error shapes the `ollama` client sees), because no Ollama runs where the tests run.
 * Its behaviour changes at run time so tests can inject Ollama faults: busy,
 * down, slow, cut streams, bad vectors, HTML or truncated replies. It records every request.
 * Self-contained on purpose: test/support is built before shared and worker, so it imports neither.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash } from 'node:crypto';

export interface OllamaTestModel {
  name: string; // as listed by /api/tags, with its tag ("nomic-embed-text:latest")
  digest: string; // 64 hex characters, as Ollama lists it (no "sha256:" prefix)
  family: string; // details.family and the model_info key prefix ("nomic-bert", "llama")
  parameterSize: string; // details.parameter_size ("137M")
  kind: 'embedding' | 'chat';
  dimension?: number; // this embedding model's vector length; default: the behaviour's `dimension`
}

/** Deterministic vectors for the texts; the server corrupts them afterwards when asked to. */
export type EmbedFunction = (texts: string[], dimension: number) => number[][] | Promise<number[][]>;

/** What a bad embedding reply carries (JSON cannot carry NaN: Go's encoder errors, proxies may write it raw). */
export type BadVectors =
  | 'null-entry' // one element of the first vector is null
  | 'null-vector' // the first vector is null (blank input, ms#4456)
  | 'zero' // the first vector is all zeros (ol#17878)
  | 'wrong-length' // the first vector has one element too few
  | 'fewer' // one vector fewer than inputs
  | 'infinity' // 1e999 in the body: JSON.parse reads it as Infinity
  | 'nan-literal'; // a bare NaN in the body: not JSON at all

export interface FailNext {
  count: number; // how many requests still fail
  status: number;
  body: string | Record<string, unknown>; // an object is sent as JSON
  path?: string; // only requests to this path ("/api/embed") count; default: all
}

export interface OllamaTestBehaviour {
  dimension: number; // length of every embedding
  embed: EmbedFunction;
  reply: string | ((request: ChatRequestBody) => string); // chat answer, streamed one word at a time
  initialDelayMs: number; // before /api/embed and /api/chat answer (model load)
  tokenDelayMs: number; // between streamed chat chunks
  failNext: FailNext | null;
  down: false | 'refuse' | 'reset'; // refuse: nothing listens; reset: connections accepted, then destroyed
  cutAfterTokens: number | null; // chat: drop the connection after this many content chunks, before done
  badVectors: BadVectors | null;
  malformed: null | 'html' | 'truncated-json'; // a 200 that is not the expected JSON (embed and chat)
  models: OllamaTestModel[];
}

/** A /api/chat body as received: nothing about its fields is trusted. */
export interface ChatRequestBody {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown; // parsed JSON, or the raw text when it is not JSON, or null when empty
  receivedAt: number;
  respondedAt: number | null; // when the response ended or the connection closed
  /** Resolves when the connection closed before the response was complete (the client aborted, or a cut). */
  clientClosed: Promise<void>;
  isClientClosed: boolean;
}

export interface OllamaTestServer {
  url: string; // http://127.0.0.1:<port>, for OLLAMA_HOST
  requests: RecordedRequest[];
  behaviour(): Readonly<OllamaTestBehaviour>;
  /** Applies a change; resolves once it is in force (down: 'refuse' stops and restarts listening). */
  setBehaviour(partial: Partial<OllamaTestBehaviour>): Promise<void>;
  /** The first request (already received or future) matching the predicate, or a rejection after timeoutMs. */
  waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

export type OllamaTestServerOptions = Partial<OllamaTestBehaviour>;

/** Ollama's own error texts, for failNext bodies. */
export const ollamaErrorBodies = {
  busy: { error: 'server busy, please try again.  maximum pending requests exceeded' },
  internal: { error: 'llama runner process has terminated: exit status 2' },
  htmlBadGateway: '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>',
} as const;

export const defaultTestModels: readonly OllamaTestModel[] = [
  { name: 'nomic-embed-text:latest', digest: digestOf('nomic-embed-text'), family: 'nomic-bert', parameterSize: '137M', kind: 'embedding' },
  { name: 'llama3.2:latest', digest: digestOf('llama3.2'), family: 'llama', parameterSize: '3.2B', kind: 'chat' },
];

/** A second embedding model with its own dimension, for tests of collections with different embedders. */
export const largeEmbeddingModel: OllamaTestModel = {
  name: 'mxbai-embed-large:latest',
  digest: digestOf('mxbai-embed-large'),
  family: 'bert',
  parameterSize: '335M',
  kind: 'embedding',
  dimension: 1024,
};

export async function startOllamaTestServer(options: OllamaTestServerOptions = {}): Promise<OllamaTestServer> {
  let behaviour: OllamaTestBehaviour = {
    dimension: 768,
    embed: hashEmbed,
    reply: 'The answer is in the sources [1].',
    initialDelayMs: 0,
    tokenDelayMs: 0,
    failNext: null,
    down: false,
    cutAfterTokens: null,
    badVectors: null,
    malformed: null,
    models: [...defaultTestModels],
    ...options,
  };
  const requests: RecordedRequest[] = [];
  const events = new EventEmitter();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    if (behaviour.down === 'reset') {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  /** A timer the server owns, cleared on close; resolves false when the client went away first. */
  function pause(ms: number, res: ServerResponse): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(!res.destroyed);
    return new Promise((resolve) => {
      const onClose = (): void => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.off('close', onClose);
        resolve(!res.destroyed);
      }, ms);
      timers.add(timer);
      res.once('close', onClose);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const record = recordRequest(req.method ?? 'GET', path, raw, res);
    requests.push(record);
    events.emit('request', record);

    const fail = behaviour.failNext;
    if (fail !== null && fail.count > 0 && (fail.path === undefined || fail.path === path)) {
      behaviour = { ...behaviour, failNext: fail.count > 1 ? { ...fail, count: fail.count - 1 } : null };
      if (typeof fail.body === 'string') sendText(res, fail.status, fail.body, fail.body.startsWith('<') ? 'text/html' : 'text/plain');
      else sendJson(res, fail.status, fail.body);
      return;
    }

    const route = `${req.method ?? 'GET'} ${path}`;
    switch (route) {
      case 'GET /':
        return sendText(res, 200, 'Ollama is running', 'text/plain; charset=utf-8');
      case 'HEAD /':
        return sendText(res, 200, '', 'text/plain; charset=utf-8');
      case 'GET /api/version':
        return sendJson(res, 200, { version: '0.12.6' });
      case 'GET /api/tags':
        return sendJson(res, 200, { models: behaviour.models.map(tagEntry) });
      case 'POST /api/show':
        return handleShow(res, record.body);
      case 'POST /api/embed':
        return handleEmbed(res, record.body);
      case 'POST /api/chat':
        return handleChat(res, record.body);
      default:
        return sendText(res, 404, '404 page not found', 'text/plain');
    }
  }

  function recordRequest(method: string, path: string, raw: string, res: ServerResponse): RecordedRequest {
    let body: unknown = null;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        body = raw;
      }
    }
    let markClosed = (): void => {};
    const clientClosed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });
    const record: RecordedRequest = { method, path, body, receivedAt: Date.now(), respondedAt: null, clientClosed, isClientClosed: false };
    res.once('close', () => {
      record.respondedAt = Date.now();
      if (res.writableFinished) return;
      record.isClientClosed = true;
      markClosed();
      events.emit('client-closed', record);
    });
    return record;
  }

  function handleShow(res: ServerResponse, body: unknown): void {
    const name = modelField(body);
    if (name === null) return sendJson(res, 400, { error: 'model is required' });
    const model = findModel(behaviour.models, name);
    if (model === undefined) return sendJson(res, 404, { error: `model '${name}' not found` });
    const info: Record<string, unknown> = {
      'general.architecture': model.family,
      'general.parameter_count': 137_000_000,
      [`${model.family}.context_length`]: model.kind === 'embedding' ? 2048 : 131072,
      [`${model.family}.embedding_length`]: model.kind === 'embedding' ? (model.dimension ?? behaviour.dimension) : 3072,
    };
    sendJson(res, 200, {
      license: 'Apache License 2.0',
      modelfile: `# Modelfile generated by "ollama show"\nFROM ${model.name}\n`,
      parameters: model.kind === 'embedding' ? 'num_ctx                        8192' : 'stop                           "<|eot_id|>"',
      template: model.kind === 'embedding' ? '{{ .Prompt }}' : '{{ .System }}{{ .Prompt }}',
      details: modelDetails(model),
      model_info: info,
      capabilities: model.kind === 'embedding' ? ['embedding'] : ['completion', 'tools'],
      modified_at: '2025-01-01T00:00:00.000000000Z',
    });
  }

  async function handleEmbed(res: ServerResponse, body: unknown): Promise<void> {
    const name = modelField(body);
    if (name === null) return sendJson(res, 400, { error: 'model is required' });
    const input = isRecord(body) ? body['input'] : undefined;
    let texts: string[];
    if (typeof input === 'string') texts = input.length > 0 ? [input] : [];
    else if (Array.isArray(input) && input.every((item): item is string => typeof item === 'string')) texts = input;
    else if (input === undefined) texts = [];
    else return sendJson(res, 400, { error: 'invalid input type' });
    const model = findModel(behaviour.models, name);
    if (model === undefined) return sendJson(res, 404, { error: `model "${name}" not found, try pulling it first` });
    if (!(await pause(behaviour.initialDelayMs, res))) return;
    if (behaviour.malformed !== null) return sendMalformed(res, behaviour.malformed, 'application/json; charset=utf-8');
    const vectors = texts.length === 0 ? [] : await behaviour.embed(texts, model.dimension ?? behaviour.dimension);
    const head = { model: name };
    const tail = { total_duration: 14_143_917, load_duration: 1_019_500, prompt_eval_count: texts.length * 8 };
    const json = corruptEmbeddings(JSON.stringify({ ...head, embeddings: vectors, ...tail }), vectors, behaviour.badVectors, head, tail);
    sendText(res, 200, json, 'application/json; charset=utf-8');
  }

  async function handleChat(res: ServerResponse, body: unknown): Promise<void> {
    const name = modelField(body);
    if (name === null) return sendJson(res, 400, { error: 'model is required' });
    if (!isRecord(body) || (body['messages'] !== undefined && !Array.isArray(body['messages']))) {
      return sendJson(res, 400, { error: 'json: cannot unmarshal string into Go struct field ChatRequest.messages of type []api.Message' });
    }
    const model = findModel(behaviour.models, name);
    if (model === undefined) return sendJson(res, 404, { error: `model "${name}" not found, try pulling it first` });
    if (model.kind === 'embedding') return sendJson(res, 400, { error: `"${name}" does not support chat` });
    const request: ChatRequestBody = body;
    const text = standaloneRewrite(request) ?? (typeof behaviour.reply === 'function' ? behaviour.reply(request) : behaviour.reply);
    const tokens = text.match(/\s*\S+\s*?/g) ?? [];
    const isStreamed = body['stream'] !== false; // Ollama streams unless told not to
    if (!(await pause(behaviour.initialDelayMs, res))) return;
    const contentType = isStreamed ? 'application/x-ndjson' : 'application/json; charset=utf-8';
    if (behaviour.malformed !== null) return sendMalformed(res, behaviour.malformed, contentType);
    const final = {
      model: name,
      created_at: new Date().toISOString(),
      message: { role: 'assistant', content: isStreamed ? '' : text },
      done_reason: 'stop',
      done: true,
      total_duration: 512_345_678,
      load_duration: 12_345_678,
      prompt_eval_count: 120,
      prompt_eval_duration: 45_678_901,
      eval_count: tokens.length,
      eval_duration: 400_000_000,
    };
    if (!isStreamed) return sendJson(res, 200, final);

    res.writeHead(200, { 'Content-Type': contentType, 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const cutAfter = behaviour.cutAfterTokens;
    for (const [index, token] of tokens.entries()) {
      if (cutAfter !== null && index >= cutAfter) return cut(res);
      if (index > 0 && !(await pause(behaviour.tokenDelayMs, res))) return;
      if (res.destroyed) return;
      const chunk = { model: name, created_at: new Date().toISOString(), message: { role: 'assistant', content: token }, done: false };
      res.write(`${JSON.stringify(chunk)}\n`);
    }
    if (cutAfter !== null && tokens.length >= cutAfter) return cut(res);
    res.end(`${JSON.stringify(final)}\n`);
  }

  async function applyDown(next: OllamaTestBehaviour['down']): Promise<void> {
    const wasListening = server.listening;
    if (next !== false) for (const socket of sockets) socket.destroy();
    if (next === 'refuse' && wasListening) {
      server.close();
    } else if (next !== 'refuse' && !wasListening) {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    }
  }

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    behaviour: () => behaviour,
    async setBehaviour(partial) {
      behaviour = { ...behaviour, ...partial };
      if (partial.down !== undefined) await applyDown(partial.down);
    },
    waitForRequest(predicate, timeoutMs = 5_000) {
      const found = requests.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const onRequest = (record: RecordedRequest): void => {
          if (!predicate(record)) return;
          clearTimeout(timer);
          events.off('request', onRequest);
          resolve(record);
        };
        const timer = setTimeout(() => {
          events.off('request', onRequest);
          reject(new Error(`no matching request reached the Ollama test server within ${timeoutMs} ms`));
        }, timeoutMs);
        events.on('request', onRequest);
      });
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return;
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** A stable fake digest per name, so ids built from it are deterministic. */
export function digestOf(name: string): string {
  return createHash('sha256').update(`colmeia-test-model:${name}`).digest('hex');
}

/** Word feature hashing, L2-normalised: texts sharing words get close vectors, so search over them means something. */
export function hashEmbed(texts: string[], dimension: number): number[][] {
  return texts.map((text) => {
    const vector = new Array<number>(dimension).fill(0);
    const words =
      text
        .toLowerCase()
        .normalize('NFD')
        .replace(/\p{M}/gu, '')
        .match(/[\p{L}\p{N}]+/gu) ?? [];
    for (const word of [...words, '\u0000bias']) {
      const hash = createHash('md5').update(word).digest();
      const slot = hash.readUInt32LE(0) % dimension;
      vector[slot] = (vector[slot] ?? 0) + ((hash[4] ?? 0) & 1 ? 1 : -1);
    }
    const norm = Math.hypot(...vector);
    return vector.map((value) => value / norm);
  });
}

function corruptEmbeddings(json: string, vectors: number[][], bad: BadVectors | null, head: Record<string, unknown>, tail: Record<string, unknown>): string {
  if (bad === null || vectors.length === 0) return json;
  const [first = [], ...rest] = vectors;
  const wrap = (embeddingsJson: string): string => `${JSON.stringify(head).slice(0, -1)},"embeddings":${embeddingsJson},${JSON.stringify(tail).slice(1)}`;
  switch (bad) {
    case 'null-entry':
      return wrap(JSON.stringify([first.map((value, i) => (i === 0 ? null : value)), ...rest]));
    case 'null-vector':
      return wrap(JSON.stringify([null, ...rest]));
    case 'zero':
      return wrap(JSON.stringify([first.map(() => 0), ...rest]));
    case 'wrong-length':
      return wrap(JSON.stringify([first.slice(1), ...rest]));
    case 'fewer':
      return wrap(JSON.stringify(vectors.slice(0, -1)));
    case 'infinity':
      return wrap(`[[1e999${first.length > 1 ? `,${first.slice(1).join(',')}` : ''}]${rest.map((v) => `,${JSON.stringify(v)}`).join('')}]`);
    case 'nan-literal':
      return wrap(`[[NaN${first.length > 1 ? `,${first.slice(1).join(',')}` : ''}]${rest.map((v) => `,${JSON.stringify(v)}`).join('')}]`);
  }
}

/**
 * Drops the connection in the middle of a chunked response: what a crashed runner or a proxy timeout
 * looks like to the client. The tokens already written are flushed first (socket.end, then destroy on
 * finish), since destroying at once could discard them and the client would see a cut before any token.
 */
function cut(res: ServerResponse): void {
  const socket = res.socket;
  if (socket === null) return;
  socket.end(() => socket.destroy());
}

function sendMalformed(res: ServerResponse, kind: 'html' | 'truncated-json', contentType: string): void {
  if (kind === 'html') {
    return sendText(res, 200, '<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>Maintenance</body></html>', 'text/html');
  }
  sendText(res, 200, '{"model":"x","embeddings":[[0.1,0.2', contentType);
}

function tagEntry(model: OllamaTestModel): Record<string, unknown> {
  return {
    name: model.name,
    model: model.name,
    modified_at: '2025-01-01T00:00:00.000000000Z',
    size: model.kind === 'embedding' ? 274_302_450 : 2_019_393_189,
    digest: model.digest,
    details: modelDetails(model),
  };
}

function modelDetails(model: OllamaTestModel): Record<string, unknown> {
  return {
    parent_model: '',
    format: 'gguf',
    family: model.family,
    families: [model.family],
    parameter_size: model.parameterSize,
    quantization_level: model.kind === 'embedding' ? 'F16' : 'Q4_K_M',
  };
}

/** Ollama resolves a name without a tag to ":latest", case-insensitively. */
function findModel(models: OllamaTestModel[], name: string): OllamaTestModel | undefined {
  const wanted = withTag(name).toLowerCase();
  return models.find((model) => withTag(model.name).toLowerCase() === wanted);
}

function withTag(name: string): string {
  const lastSegment = name.split('/').pop() ?? name;
  return lastSegment.includes(':') ? name : `${name}:latest`;
}

function modelField(body: unknown): string | null {
  if (!isRecord(body)) return null;
  const model = body['model'] ?? body['name'];
  return typeof model === 'string' && model.length > 0 ? model : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body), 'application/json; charset=utf-8');
}

function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The worker's rewrite prompt (worker/src/answerers/rewrite-prompt.ts) answered as a careful model
 * would, deterministically: the latest question with its pronouns replaced by the longest word of
 * the last earlier question ("and when does it bloom?" after "what colour is lavender?" → "When
 * does lavender bloom?"). Undefined for any other chat request.
 */
function standaloneRewrite(request: ChatRequestBody): string | undefined {
  const messages = Array.isArray(request.messages) ? (request.messages as unknown[]) : [];
  const text = (role: string) =>
    messages
      .filter((m): m is Record<string, unknown> => isRecord(m) && m['role'] === role)
      .map((m) => (typeof m['content'] === 'string' ? m['content'] : ''))
      .join('\n');
  if (!text('system').startsWith('Rewrite the latest question as one standalone question')) return undefined;
  const user = text('user');
  const latest = /Latest question: (.*)$/m.exec(user)?.[1]?.trim() ?? '';
  const earlier = [...user.matchAll(/^\d+\. (.*)$/gm)].map((m) => m[1] ?? '');
  const topic = (earlier.at(-1)?.match(/[\p{L}\p{N}]+/gu) ?? []).reduce((a, b) => (b.length > a.length ? b : a), '');
  const rewritten = latest.replace(/^\s*(and|so|but)\s+/i, '').replace(/\b(it|its|they|them|this|that)\b/gi, topic);
  return rewritten.charAt(0).toUpperCase() + rewritten.slice(1);
}
