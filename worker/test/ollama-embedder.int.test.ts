/**
 * The Ollama embedder against the protocol test server: start-up checks and the id, batching, busy
 * and down servers, every class of bad vector, timeouts, aborts and the
 * concurrency limit. No test sleeps: each awaits a request, a promise, or an event with a timeout.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import winston from 'winston';
import { digestOf, ollamaErrorBodies, startOllamaTestServer, type BadVectors, type OllamaTestServer } from '../../test/support/ollama-server.js';
import { createBuiltinEmbedder } from '../src/embedders/builtin.js';
import { InvalidVectorError } from '../src/embedders/check-vectors.js';
import { createConcurrencyLimit } from '../src/ollama/concurrency-limit.js';
import { createEmbedder, embedderHealth } from '../src/embedders/create-embedder.js';
import type { Embedder } from '../src/embedders/embedder.js';
import { createOllamaEmbedder, parseOllamaEmbedderId, type OllamaEmbedderOptions } from '../src/embedders/ollama.js';
import {
  OllamaEmbedderChangedError,
  OllamaModelMissingError,
  OllamaResponseError,
  OllamaTimeoutError,
  OllamaUnavailableError,
} from '../src/ollama/ollama-errors.js';

const fastRetry = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
const builtin768 = createBuiltinEmbedder(768);
const expectedId = `ollama:nomic-embed-text:latest:${digestOf('nomic-embed-text').slice(0, 12)}:768`;

function captureLogger(): { logger: winston.Logger; entries: Array<Record<string, unknown>> } {
  const entries: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    objectMode: true,
    write(entry: Record<string, unknown>, _encoding, done) {
      entries.push(entry);
      done();
    },
  });
  return { logger: winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] }), entries };
}

function configFor(server: OllamaTestServer, overrides: Partial<{ EMBED_MODEL: string; OLLAMA_TIMEOUT_MS: number; OLLAMA_MAX_CONCURRENCY: number }> = {}) {
  return { OLLAMA_HOST: server.url, EMBED_MODEL: 'nomic-embed-text', OLLAMA_TIMEOUT_MS: 5_000, OLLAMA_MAX_CONCURRENCY: 2, ...overrides };
}

/** Rejects when the promise has not settled within ms: a bound on waiting, not a sleep. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const embedRequests = (server: OllamaTestServer) => server.requests.filter((r) => r.path === '/api/embed');

/** The first input text of a recorded /api/embed request, read without trusting its shape. */
function firstInput(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || !('input' in body)) return undefined;
  return Array.isArray(body.input) ? body.input[0] : body.input;
}

describe('the Ollama embedder', () => {
  let server: OllamaTestServer;
  const embedders: Embedder[] = [];
  const start = async (options: OllamaEmbedderOptions = {}, overrides = {}) => {
    const embedder = await createOllamaEmbedder(configFor(server, overrides), captureLogger().logger, { retry: fastRetry, ...options });
    embedders.push(embedder);
    return embedder;
  };

  before(async () => {
    server = await startOllamaTestServer({ embed: (texts) => builtin768.embed(texts) });
  });
  afterEach(async () => {
    await Promise.all(embedders.splice(0).map((e) => e.close()));
    await server.setBehaviour({ dimension: 768, failNext: null, down: false, badVectors: null, malformed: null, initialDelayMs: 0 });
  });
  after(() => server.close());

  it('builds its id from the model name, the first 12 hex digits of its digest and the probed dimension', async () => {
    const embedder = await start();
    assert.equal(embedder.id, expectedId);
    assert.equal(embedder.dimension, 768);
    assert.equal(embedder.isReady, true);
    assert.equal(embedder.degradedReason, null);
    const paths = server.requests.map((r) => `${r.method} ${r.path}`);
    for (const call of ['POST /api/show', 'POST /api/embed', 'GET /api/tags']) assert.ok(paths.includes(call), `${call} was not called`);
  });

  it('takes its dimension from the probe, not from a default', async () => {
    await server.setBehaviour({ dimension: 384, embed: (texts) => createBuiltinEmbedder(384).embed(texts) });
    try {
      const embedder = await start();
      assert.equal(embedder.dimension, 384);
      assert.match(embedder.id, /:384$/);
      const [vector] = await embedder.embed(['hello']);
      assert.equal(vector?.length, 384);
    } finally {
      await server.setBehaviour({ embed: (texts) => builtin768.embed(texts) });
    }
  });

  it('refuses to start when the model is missing, naming the model and the pull command', async () => {
    await assert.rejects(start({}, { EMBED_MODEL: 'mxbai-embed-large' }), (err: unknown) => {
      assert.ok(err instanceof OllamaModelMissingError);
      assert.match(err.message, /"mxbai-embed-large"/);
      assert.match(err.message, /ollama pull mxbai-embed-large/);
      return true;
    });
  });

  it('embeds a batch in one call and returns unit vectors in input order', async () => {
    const embedder = await start();
    const before = embedRequests(server).length;
    const texts = ['bees make honey in the hive', 'the index is rebuilt from chunks', 'redis carries the queues'];
    const vectors = await embedder.embed(texts);
    assert.equal(embedRequests(server).length, before + 1);
    assert.deepEqual(embedRequests(server).at(-1)?.body, { model: 'nomic-embed-text', input: texts });
    const served = await builtin768.embed(texts); // what the server sent; re-normalising may move the last bit
    assert.equal(vectors.length, served.length);
    vectors.forEach((vector, i) =>
      assert.ok(
        vector.every((x, j) => Math.abs(x - (served[i]?.[j] ?? NaN)) < 1e-12),
        `vector ${i} differs`,
      ),
    );
    for (const vector of vectors) assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-9);
    const [query = []] = await embedder.embed(['where is the honey made']);
    const scores = vectors.map((v) => v.reduce((sum, x, i) => sum + x * (query[i] ?? 0), 0));
    assert.equal(scores.indexOf(Math.max(...scores)), 0, 'search over these vectors finds the related text');
  });

  it('makes no call for an empty batch', async () => {
    const embedder = await start();
    const before = server.requests.length;
    assert.deepEqual(await embedder.embed([]), []);
    assert.equal(server.requests.length, before);
  });

  it('retries a busy server (503) and then succeeds', async () => {
    const embedder = await start();
    const before = embedRequests(server).length;
    await server.setBehaviour({ failNext: { count: 2, status: 503, body: ollamaErrorBodies.busy, path: '/api/embed' } });
    const vectors = await embedder.embed(['hello bees']);
    assert.equal(vectors.length, 1);
    assert.equal(embedRequests(server).length, before + 3);
  });

  it('gives up on a server that stays busy after the configured attempts', async () => {
    const embedder = await start();
    const before = embedRequests(server).length;
    await server.setBehaviour({ failNext: { count: 100, status: 503, body: ollamaErrorBodies.busy, path: '/api/embed' } });
    await assert.rejects(embedder.embed(['hello']), (err: unknown) => {
      assert.ok(err instanceof OllamaUnavailableError);
      assert.match(err.message, /503/);
      return true;
    });
    assert.equal(embedRequests(server).length, before + fastRetry.attempts);
  });

  it('does not retry a 500 and reports it with the server message', async () => {
    const embedder = await start();
    const before = embedRequests(server).length;
    await server.setBehaviour({ failNext: { count: 1, status: 500, body: ollamaErrorBodies.internal, path: '/api/embed' } });
    await assert.rejects(
      embedder.embed(['hello']),
      (err: unknown) => err instanceof OllamaResponseError && err.status === 500 && /llama runner/.test(err.message),
    );
    assert.equal(embedRequests(server).length, before + 1);
  });

  for (const mode of ['refuse', 'reset'] as const) {
    it(`rejects after its retries within a bounded time when Ollama is down (${mode})`, async () => {
      const { logger, entries } = captureLogger();
      const embedder = await createOllamaEmbedder(configFor(server), logger, { retry: fastRetry });
      embedders.push(embedder);
      await server.setBehaviour({ down: mode });
      const startedAt = Date.now();
      await assert.rejects(embedder.embed(['hello']), (err: unknown) => {
        assert.ok(err instanceof OllamaUnavailableError, String(err));
        assert.match(err.message, /unreachable/);
        assert.match(err.message, /gave up after 3 attempts/);
        return true;
      });
      assert.ok(Date.now() - startedAt < 2_000, 'the retries are bounded');
      assert.equal(entries.filter((e) => e['message'] === 'ollama call failed; retrying').length, fastRetry.attempts - 1);
      assert.equal(embedder.isReady, false);
      assert.match(embedder.degradedReason ?? '', /unreachable/);
      await server.setBehaviour({ down: false });
      await embedder.embed(['hello']);
      assert.equal(embedder.isReady, true, 'one success clears the degraded state');
    });
  }

  describe('refuses every class of bad vector before returning it', () => {
    const classes: Array<[BadVectors, new (...args: never[]) => Error]> = [
      ['null-entry', InvalidVectorError],
      ['null-vector', InvalidVectorError],
      ['zero', InvalidVectorError],
      ['wrong-length', InvalidVectorError],
      ['fewer', InvalidVectorError],
      ['infinity', InvalidVectorError],
      ['nan-literal', OllamaResponseError],
    ];
    for (const [badVectors, ErrorClass] of classes) {
      it(`refuses a reply with ${badVectors} vectors`, async () => {
        const embedder = await start();
        await server.setBehaviour({ badVectors });
        await assert.rejects(embedder.embed(['first text', 'second text']), ErrorClass);
      });
    }
  });

  for (const malformed of ['html', 'truncated-json'] as const) {
    it(`refuses a 200 reply that is ${malformed === 'html' ? 'an HTML page' : 'truncated JSON'}`, async () => {
      const embedder = await start();
      await server.setBehaviour({ malformed });
      await assert.rejects(embedder.embed(['hello']), (err: unknown) => err instanceof OllamaResponseError && /not the expected JSON/.test(err.message));
    });
  }

  it('aborts a call when the signal fires, and the server sees the connection closed', async () => {
    const embedder = await start();
    await server.setBehaviour({ initialDelayMs: 60_000 });
    const controller = new AbortController();
    const pending = embedder.embed(['slow text'], controller.signal);
    const request = await server.waitForRequest((r) => r.path === '/api/embed' && firstInput(r.body) === 'slow text');
    controller.abort();
    await assert.rejects(within(pending, 2_000, 'the abort'), { name: 'AbortError' });
    await within(request.clientClosed, 2_000, 'the server seeing the connection close');
  });

  it('times out a call that gets no reply within OLLAMA_TIMEOUT_MS, without retrying it', async () => {
    const embedder = await start({}, { OLLAMA_TIMEOUT_MS: 150 });
    await server.setBehaviour({ initialDelayMs: 60_000 });
    const before = embedRequests(server).length;
    await assert.rejects(within(embedder.embed(['slow']), 3_000, 'the timeout'), OllamaTimeoutError);
    assert.equal(embedRequests(server).length, before + 1);
  });

  it('aborts its calls in flight when closed, and refuses calls after that', async () => {
    const embedder = await start();
    await server.setBehaviour({ initialDelayMs: 60_000 });
    const pending = embedder.embed(['closing text']);
    const request = await server.waitForRequest((r) => r.path === '/api/embed' && firstInput(r.body) === 'closing text');
    await embedder.close();
    await assert.rejects(within(pending, 2_000, 'the close'), OllamaUnavailableError);
    await within(request.clientClosed, 2_000, 'the server seeing the connection close');
    await assert.rejects(embedder.embed(['after close']), OllamaUnavailableError);
  });

  it('keeps at most OLLAMA_MAX_CONCURRENCY calls in flight', async () => {
    const limit = createConcurrencyLimit(2);
    const embedder = await start({ limit });
    await server.setBehaviour({ initialDelayMs: 100 });
    const before = embedRequests(server).length;
    const calls = Array.from({ length: 5 }, (_, i) => embedder.embed([`text ${i}`]));
    // The limit is first come, first served: texts 0 and 1 go out, 2 to 4 wait for a slot.
    await server.waitForRequest((r) => r.path === '/api/embed' && firstInput(r.body) === 'text 0');
    await server.waitForRequest((r) => r.path === '/api/embed' && firstInput(r.body) === 'text 1');
    assert.equal(limit.active, 2);
    assert.equal(limit.waiting, 3);
    await Promise.all(calls);
    const batch = embedRequests(server).slice(before);
    assert.equal(batch.length, 5);
    // The most requests the server held at once: a sweep over arrivals and replies (a reply first on a tie).
    const events = batch.flatMap((r) => [
      { at: r.receivedAt, change: 1 },
      { at: r.respondedAt ?? Infinity, change: -1 },
    ]);
    events.sort((a, b) => a.at - b.at || a.change - b.change);
    let inFlight = 0;
    let most = 0;
    for (const event of events) most = Math.max(most, (inFlight += event.change));
    assert.equal(most, 2);
  });

  it('starts degraded under the stored id when Ollama is down at boot, and recovers once Ollama is back', async () => {
    await server.setBehaviour({ down: 'refuse' });
    const { logger, entries } = captureLogger();
    const embedder = await createOllamaEmbedder(configFor(server), logger, { retry: fastRetry, expectedId });
    embedders.push(embedder);
    assert.equal(embedder.id, expectedId);
    assert.equal(embedder.dimension, 768);
    assert.equal(embedder.isReady, false);
    assert.match(embedder.degradedReason ?? '', /unreachable/);
    assert.equal(embedderHealth(embedder).isReady, false);
    assert.ok(entries.some((e) => e['message'] === 'ollama unreachable at start-up; starting degraded' && e['level'] === 'warn'));
    await assert.rejects(embedder.embed(['hello']), OllamaUnavailableError);
    await server.setBehaviour({ down: false });
    const [vector] = await embedder.embed(['hello']);
    assert.equal(vector?.length, 768);
    assert.equal(embedder.isReady, true);
    assert.equal(embedder.degradedReason, null);
  });

  it('refuses to embed when the model that comes back is not the one the index was built with', async () => {
    await server.setBehaviour({ down: 'refuse' });
    const storedId = `ollama:nomic-embed-text:latest:${'0'.repeat(12)}:768`;
    const { logger, entries } = captureLogger();
    const embedder = await createOllamaEmbedder(configFor(server), logger, { retry: fastRetry, expectedId: storedId });
    embedders.push(embedder);
    await server.setBehaviour({ down: false });
    await assert.rejects(embedder.embed(['hello']), (err: unknown) => {
      assert.ok(err instanceof OllamaEmbedderChangedError);
      assert.equal(err.expectedId, storedId);
      assert.equal(err.actualId, expectedId);
      return true;
    });
    assert.equal(embedder.isReady, false);
    assert.ok(entries.some((e) => e['level'] === 'error'));
  });

  it('gives up at start-up after its budget when Ollama is down and no index exists yet', async () => {
    await server.setBehaviour({ down: 'refuse' });
    const startedAt = Date.now();
    await assert.rejects(start({ startupTimeoutMs: 50 }), (err: unknown) => {
      assert.ok(err instanceof OllamaUnavailableError);
      assert.match(err.message, /start-up probe/);
      return true;
    });
    assert.ok(Date.now() - startedAt < 3_000);
  });

  it('parses its own ids, model names with a tag included', () => {
    assert.deepEqual(parseOllamaEmbedderId(expectedId), {
      id: expectedId,
      model: 'nomic-embed-text:latest',
      digest: digestOf('nomic-embed-text').slice(0, 12),
      dimension: 768,
    });
    assert.equal(parseOllamaEmbedderId('builtin-hash-v1:384'), null);
  });

  it('is chosen by EMBEDDER, with the builtin embedder as the other choice', async () => {
    const shared = { BUILTIN_EMBED_DIM: 128, ...configFor(server) };
    const builtin = await createEmbedder({ ...shared, EMBEDDER: 'builtin' }, captureLogger().logger);
    assert.equal(builtin.id, 'builtin-hash-v1:128');
    assert.deepEqual(embedderHealth(builtin), { isReady: true, degradedReason: null });
    const ollama = await createEmbedder({ ...shared, EMBEDDER: 'ollama' }, captureLogger().logger, { retry: fastRetry });
    embedders.push(ollama);
    assert.equal(ollama.id, expectedId);
  });
});
