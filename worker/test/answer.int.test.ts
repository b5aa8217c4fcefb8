/**
 * The answer processor with real services (startServices against a private redis-server, SQLite in a
 * temp dir, the Ollama protocol test server for ANSWERER=ollama): what it stores, what it publishes
 * (observed through a web-role events subscriber), and the Ollama faults (down:
 * retries, then analysis_error), O2 (slow: progress events), O4 (bad vectors: refused), O5 (stream cut:
 * no partial answer stored), M4 (overlapping attempts: one message), plus cancel and job timeout.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type Queue from 'bee-queue';
import { loadConfig } from '../../shared/src/config.js';
import { createChatSession, findReply, insertUserMessage, listMessagesAfter, type ChatMessage } from '../../shared/src/db/chat-repo.js';
import { hashContent, upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { replaceDocumentChunks } from '../../shared/src/db/chunks-repo.js';
import { enqueue } from '../../shared/src/queue/enqueue.js';
import { claimJobAttempt, findJobRecord } from '../../shared/src/db/jobs-repo.js';
import type { WhereAst } from '../../shared/src/db/where.js';
import { createEvents, type ChatEvent, type Events } from '../../shared/src/events.js';
import { answerJobId, type AnswerJob, type AnswerResult } from '../../shared/src/jobs/answer.js';
import { startOllamaTestServer, type OllamaTestServer } from '../../test/support/ollama-server.js';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';
import { NO_PASSAGES_ANSWER } from '../src/answerers/extractive.js';
import { chunkText } from '../src/chunk-text.js';
import { processAnswer } from '../src/processors/answer.js';
import { registerProcessors } from '../src/processors/register.js';
import { startServices, type Services } from '../src/services.js';

const HONEY = 'Bees store honey in wax cells. The queen lays the eggs while workers guard the hive.';
const INDEX = 'The index is rebuilt from the chunks table when the worker starts.';
const LAVENDER = 'Lavender has purple flowers and a strong scent. It is in bloom from June to August in dry, sunny places.';
const ROSE = 'Roses are in bloom in late spring, and again after pruning.';

interface Harness {
  services: Services;
  observed: Array<{ sessionId: string; event: ChatEvent }>;
  seed(id: string, text: string, metadata?: Record<string, unknown>, title?: string): Promise<void>;
  ask(content: string, options?: { k?: number; where?: WhereAst; sessionId?: string }): Promise<{ question: ChatMessage; job: AnswerJob }>;
  run(job: AnswerJob, attempt?: number): Promise<AnswerResult>;
  waitForEvent(predicate: (event: ChatEvent) => boolean, timeoutMs?: number): Promise<ChatEvent>;
  close(): Promise<void>;
}

async function openHarness(redisUrl: string, env: Record<string, string> = {}): Promise<Harness> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'colmeia-answer-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    DATA_DIR: dataDir,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: `test-${randomUUID()}`,
    ANSWER_PROGRESS_INTERVAL_MS: '100',
    JOB_BACKOFF_MS: '20',
    ...env,
  });
  const services = await startServices(config);
  const observer: Events = createEvents(config, 'api', services.logger);
  await observer.ready();
  const observed: Harness['observed'] = [];
  const waiters = new Set<() => void>();
  const unsubscribes: Array<() => void> = [];
  return {
    services,
    observed,
    async seed(id, text, metadata = {}, title) {
      const saved = await upsertPendingDocument(services.db, { id, text, metadata, title: title ?? id, requestId: 'test' });
      const texts = chunkText(text, { size: config.CHUNK_SIZE, overlap: config.CHUNK_OVERLAP });
      const vectors = await (await services.indexes.serving('default')).embedder.embed(texts);
      const chunks = texts.map((chunk, i) => ({ text: chunk, embedding: vectors[i] ?? [] }));
      await replaceDocumentChunks(services.db, {
        documentId: id,
        revision: saved.revision,
        contentHash: hashContent(text),
        chunks,
      });
    },
    async ask(content, options = {}) {
      const sessionId = options.sessionId ?? `s-${randomUUID()}`;
      if (options.sessionId === undefined) await createChatSession(services.db, { id: sessionId, title: null });
      unsubscribes.push(
        observer.subscribe(sessionId, (signal) => {
          if (signal.type === 'resync') return;
          observed.push({ sessionId, event: signal });
          for (const wake of [...waiters]) wake();
        }),
      );
      const stored = await insertUserMessage(services.db, { sessionId, content, metadata: { type: 'question' } });
      const job: AnswerJob = {
        collection: 'default',
        sessionId,
        messageId: stored.message.id,
        k: options.k ?? 5,
        requestId: 'test',
        ...(options.where !== undefined ? { where: options.where } : {}),
      };
      return { question: stored.message, job };
    },
    run(job, attempt = 1) {
      const queued = services.queues.answer.createJob(job) as Queue.Job<unknown>;
      return processAnswer(services, job, {
        job: queued,
        logger: services.logger,
        attempt,
        reportProgress: () => undefined,
        saveOutcome: async () => undefined,
      });
    },
    waitForEvent(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = observed.find((entry) => predicate(entry.event));
          if (!found) return;
          done();
          resolve(found.event);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching event within ${timeoutMs} ms; saw ${JSON.stringify(observed.map((o) => o.event.type))}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const unsubscribe of unsubscribes) unsubscribe();
      await observer.close();
      await services.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const isReplyTo = (question: ChatMessage) => (event: ChatEvent) => event.type === 'message' && event.message.replyTo === question.id;
const eventsOf = (h: Harness, question: ChatMessage, type: ChatEvent['type']) =>
  h.observed
    .filter((o) => o.event.type === type && (o.event.type === 'message' ? o.event.message.replyTo : o.event.replyTo) === question.id)
    .map((o) => o.event);

describe('the answer processor', () => {
  let redis: RedisServerHandle;
  let ollama: OllamaTestServer;
  let harness: Harness | undefined;
  const open = async (env: Record<string, string> = {}) => (harness = await openHarness(redis.url, env));
  const withOllama = (env: Record<string, string> = {}) => open({ ANSWERER: 'ollama', OLLAMA_HOST: ollama.url, ...env });

  before(async () => {
    redis = await startRedisServer();
    ollama = await startOllamaTestServer({ reply: 'Bees keep honey in wax cells [1].' });
  });
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await ollama.setBehaviour({
      down: false,
      cutAfterTokens: null,
      initialDelayMs: 0,
      tokenDelayMs: 0,
      badVectors: null,
      reply: 'Bees keep honey in wax cells [1].',
    });
  });
  after(async () => {
    await ollama.close();
    await redis.close();
  });

  it('answers with quoted passages and numbered sources, stores analysis_result, and publishes progress, deltas, then the message', async () => {
    const h = await open();
    await h.seed('hive', HONEY, {}, 'Hive notes');
    await h.seed('index', INDEX, {}, 'Index notes');
    const { question, job } = await h.ask('Where do bees store honey?', { k: 2 });
    const result = await h.run(job);
    assert.equal(result.status, 'answered');
    const reply = await findReply(h.services.db, question.id);
    assert.ok(reply);
    assert.equal(result.messageId, reply.id);
    assert.match(reply.content, /“Bees store honey in wax cells\.” \[1\]/);
    assert.match(reply.content, /Sources:\n\[1\] Hive notes/);
    const metadata = reply.metadata;
    assert.equal(metadata['type'], 'analysis_result');
    assert.equal(metadata['jobId'], answerJobId(question.id));
    assert.equal(metadata['answerer'], 'extractive');
    assert.equal(metadata['model'], null);
    assert.equal(metadata['grounded'], true);
    assert.equal(metadata['retrievalQuery'], 'Where do bees store honey?');
    const sources = metadata['sources'] as Array<Record<string, unknown>>;
    assert.equal(sources.length, 1, 'the index passage shares no word with the question and is far from it: not a source');
    assert.deepEqual(Object.keys(sources[0] ?? {}).sort(), ['chunkId', 'documentId', 'score', 'title']);
    assert.equal(sources[0]?.['documentId'], 'hive');
    assert.equal(sources[0]?.['title'], 'Hive notes');
    const timings = metadata['timings'] as Record<string, number>;
    for (const key of ['retrieveMs', 'generateMs', 'totalMs']) assert.ok(typeof timings[key] === 'number' && timings[key] >= 0, key);

    const message = await h.waitForEvent(isReplyTo(question));
    assert.ok(message.type === 'message');
    assert.deepEqual(message.message, reply);
    assert.equal(message.prevId, question.id);
    const stages = eventsOf(h, question, 'progress').map((e) => (e.type === 'progress' ? e.stage : ''));
    assert.deepEqual(stages.slice(0, 2), ['retrieving', 'generating']);
    const deltas = eventsOf(h, question, 'delta').map((e) => (e.type === 'delta' ? e.text : ''));
    assert.equal(deltas.join(''), reply.content);
    assert.equal(deltas.length, 1, 'the extractive answer comes in one burst: one delta event');
    const order = h.observed.map((o) => o.event.type);
    assert.ok(order.lastIndexOf('delta') < order.indexOf('message'), 'deltas come before the stored message');
  });

  it('says no stored passage answers a question whose words appear in no document, and records grounded: false', async () => {
    const h = await open();
    await h.seed('hive', HONEY, {}, 'Hive notes');
    await h.seed('index', INDEX, {}, 'Index notes');
    const { question, job } = await h.ask('Quantum chromodynamics: gluon confinement?');
    await h.run(job);
    const reply = await findReply(h.services.db, question.id);
    assert.equal(reply?.content, NO_PASSAGES_ANSWER);
    assert.equal(reply?.metadata['grounded'], false);
    assert.deepEqual(reply?.metadata['sources'], []);
  });

  it('reads a follow-up with the earlier user turns of its session when there is no chat model', async () => {
    const h = await open();
    await h.seed('lavender', LAVENDER, {}, 'Lavender');
    await h.seed('rose', ROSE, {}, 'Roses');
    await h.seed('hive', HONEY, {}, 'Hive notes');
    await h.seed('index', INDEX, {}, 'Index notes');
    const first = await h.ask('What colour is lavender?');
    await h.run(first.job);
    const { question, job } = await h.ask('and when does it bloom?', { sessionId: first.job.sessionId });
    await h.run(job);
    const reply = await findReply(h.services.db, question.id);
    assert.equal(reply?.metadata['retrievalQuery'], 'and when does it bloom?\nWhat colour is lavender?');
    const sources = reply?.metadata['sources'] as Array<{ documentId: string }>;
    assert.equal(sources[0]?.documentId, 'lavender');
    assert.match(reply?.content ?? '', /June to August/);
  });

  it('has the chat model make a follow-up standalone, and falls back to the question when the rewrite times out', async () => {
    const h = await withOllama({ REWRITE_TIMEOUT_MS: '300' });
    await h.seed('lavender', LAVENDER, {}, 'Lavender');
    await h.seed('rose', ROSE, {}, 'Roses');
    await h.seed('hive', HONEY, {}, 'Hive notes');
    await h.seed('index', INDEX, {}, 'Index notes');
    const first = await h.ask('What colour is lavender?');
    await h.run(first.job);
    const follow = await h.ask('and when does it bloom?', { sessionId: first.job.sessionId });
    await h.run(follow.job);
    const reply = await findReply(h.services.db, follow.question.id);
    assert.equal(reply?.metadata['retrievalQuery'], 'When does lavender bloom?');
    assert.equal((reply?.metadata['sources'] as Array<{ documentId: string }>)[0]?.documentId, 'lavender');
    await ollama.setBehaviour({ initialDelayMs: 600 });
    const slow = await h.ask('and where does it grow?', { sessionId: first.job.sessionId });
    await h.run(slow.job);
    const fallback = await findReply(h.services.db, slow.question.id);
    assert.equal(fallback?.metadata['retrievalQuery'], 'and where does it grow?');
    assert.equal(fallback?.metadata['type'], 'analysis_result');
  });

  it('retrieves only passages inside the where scope', async () => {
    const h = await open();
    await h.seed('hive-en', HONEY, { lang: 'en' });
    await h.seed('hive-pt', 'Abelhas guardam mel em favos de cera. Bees store honey too.', { lang: 'pt' });
    const { question, job } = await h.ask('Where do bees store honey?', { where: { kind: 'eq', path: ['lang'], value: 'pt' } });
    await h.run(job);
    const reply = await findReply(h.services.db, question.id);
    const sources = reply?.metadata['sources'] as Array<{ documentId: string }>;
    assert.deepEqual(
      sources.map((s) => s.documentId),
      ['hive-pt'],
    );
  });

  it('stores one answer when the job runs twice and when two attempts overlap, and publishes it once', async () => {
    const h = await open();
    await h.seed('hive', HONEY);
    const first = await h.ask('Where do bees store honey?');
    const [a, b] = await Promise.all([h.run(first.job, 1), h.run(first.job, 2)]);
    assert.deepEqual([a.status, b.status].sort(), ['already_answered', 'answered']);
    assert.equal(a.messageId, b.messageId);
    const again = await h.run(first.job, 3);
    assert.equal(again.status, 'already_answered');
    assert.equal(again.messageId, a.messageId);
    const messages = await listMessagesAfter(h.services.db, first.job.sessionId, 0, 10);
    assert.deepEqual(
      messages.map((m) => m.role),
      ['user', 'assistant'],
    );
    await h.waitForEvent(isReplyTo(first.question));
    // One more round trip through Redis, so a second publish of the reply would have arrived by now.
    const second = await h.ask('and wax?');
    await h.run(second.job);
    await h.waitForEvent(isReplyTo(second.question));
    assert.equal(eventsOf(h, first.question, 'message').length, 1);
  });

  it('stores analysis_error at once for a failure no retry can fix (attempts used up by crashes)', async () => {
    const h = await open({ JOB_ATTEMPTS: '2' });
    registerProcessors(h.services);
    const { question, job } = await h.ask('anything');
    const jobId = answerJobId(question.id);
    for (let crashed = 0; crashed < 2; crashed++) await claimJobAttempt(h.services.db, { queue: 'answer', jobId, requestId: 'test' });
    await enqueue(h.services.queues.answer, h.services.config, jobId, job);
    await h.waitForEvent(isReplyTo(question));
    const reply = await findReply(h.services.db, question.id);
    assert.equal(reply?.metadata['type'], 'analysis_error');
    assert.equal((reply?.metadata['error'] as { code: string }).code, 'gave_up');
    const record = await findJobRecord(h.services.db, 'answer', jobId);
    assert.equal(record?.status, 'failed');
    assert.equal(record?.error?.code, 'gave_up');
  });

  it('streams the Ollama answer token by token and stores it whole with the model name', async () => {
    const h = await withOllama();
    await h.seed('hive', HONEY, {}, 'Hive notes');
    await ollama.setBehaviour({ tokenDelayMs: 5 }); // tokens apart, as a model makes them: each its own delta
    const before = ollama.requests.length;
    const { question, job } = await h.ask('Where do bees keep honey?');
    const result = await h.run(job);
    assert.equal(result.status, 'answered');
    const reply = await findReply(h.services.db, question.id);
    assert.equal(reply?.content, 'Bees keep honey in wax cells [1].');
    assert.equal(reply?.metadata['answerer'], 'ollama');
    assert.equal(reply?.metadata['model'], 'llama3.2');
    await h.waitForEvent(isReplyTo(question)); // published after every delta, on the same connection
    const deltas = eventsOf(h, question, 'delta');
    assert.ok(deltas.length > 1, 'several deltas');
    assert.equal(deltas.map((e) => (e.type === 'delta' ? e.text : '')).join(''), reply?.content);
    const chat = ollama.requests.slice(before).find((r) => r.path === '/api/chat');
    assert.match(JSON.stringify(chat?.body), /untrusted data/);
    assert.match(JSON.stringify(chat?.body), /Bees store honey in wax cells/);
  });

  it('sends progress events while a slow model thinks, then stores the answer', async () => {
    const h = await withOllama();
    await h.seed('hive', HONEY);
    await ollama.setBehaviour({ initialDelayMs: 700 });
    const { question, job } = await h.ask('Where do bees keep honey?');
    await h.run(job);
    await h.waitForEvent(isReplyTo(question));
    const firstDelta = h.observed.findIndex((o) => o.event.type === 'delta');
    const generating = h.observed.slice(0, firstDelta).filter((o) => o.event.type === 'progress' && o.event.stage === 'generating');
    assert.ok(generating.length >= 3, `progress kept coming while the model was silent (got ${generating.length})`);
    assert.equal((await findReply(h.services.db, question.id))?.metadata['type'], 'analysis_result');
  });

  it('stores no partial answer when the stream is cut mid-answer, and the retry stores the whole one', async () => {
    const h = await withOllama();
    await h.seed('hive', HONEY);
    await ollama.setBehaviour({ cutAfterTokens: 3 });
    const { question, job } = await h.ask('Where do bees keep honey?');
    await assert.rejects(h.run(job, 1), /before done|without done/);
    assert.equal(await findReply(h.services.db, question.id), undefined);
    const error = await h.waitForEvent((e) => e.type === 'error' && e.replyTo === question.id);
    assert.ok(error.type === 'error' && error.willRetry);
    assert.ok(eventsOf(h, question, 'delta').length > 0, 'the partial tokens went out as deltas only');
    await ollama.setBehaviour({ cutAfterTokens: null });
    assert.equal((await h.run(job, 2)).status, 'answered');
    assert.equal((await findReply(h.services.db, question.id))?.content, 'Bees keep honey in wax cells [1].');
  });

  it('retries while Ollama is down, then stores analysis_error so no client waits forever', async () => {
    const h = await withOllama({ JOB_ATTEMPTS: '2' });
    await h.seed('hive', HONEY);
    await ollama.setBehaviour({ down: 'refuse' });
    registerProcessors(h.services);
    const { question, job } = await h.ask('Where do bees keep honey?');
    await enqueue(h.services.queues.answer, h.services.config, answerJobId(question.id), job);
    const message = await h.waitForEvent(isReplyTo(question), 30_000);
    assert.ok(message.type === 'message');
    assert.equal(message.message.metadata['type'], 'analysis_error');
    assert.equal((message.message.metadata['error'] as { code: string }).code, 'answer_failed');
    assert.match(message.message.content, /unreachable/);
    const errors = eventsOf(h, question, 'error').map((e) => (e.type === 'error' ? [e.attempt, e.willRetry] : []));
    assert.deepEqual(errors, [
      [1, true],
      [2, false],
    ]);
  });

  it('refuses bad vectors from the embedder and stores nothing for that attempt', async () => {
    const h = await open({ EMBEDDER: 'ollama', OLLAMA_HOST: ollama.url });
    await h.seed('hive', HONEY);
    await ollama.setBehaviour({ badVectors: 'nan-literal' });
    const { question, job } = await h.ask('Where do bees keep honey?');
    await assert.rejects(h.run(job), (err: unknown) => err instanceof Error && err.name !== 'ValidationError');
    assert.equal(await findReply(h.services.db, question.id), undefined);
    await ollama.setBehaviour({ badVectors: 'zero' });
    await assert.rejects(h.run(job, 2), /zero|norm/i);
    assert.equal(await findReply(h.services.db, question.id), undefined);
  });

  it('stores the cancelled message without calling the model when the cancel came before the job started', async () => {
    const h = await withOllama();
    await h.seed('hive', HONEY);
    const { question, job } = await h.ask('Where do bees keep honey?');
    await h.services.events.requestCancel(answerJobId(question.id));
    const chats = ollama.requests.filter((r) => r.path === '/api/chat').length;
    const result = await h.run(job);
    assert.equal(result.status, 'cancelled');
    const reply = await findReply(h.services.db, question.id);
    assert.equal((reply?.metadata['error'] as { code: string }).code, 'cancelled');
    assert.equal(ollama.requests.filter((r) => r.path === '/api/chat').length, chats, 'no model call');
  });

  it('aborts a running model call on cancel and stores the cancelled message', async () => {
    const h = await withOllama();
    await h.seed('hive', HONEY);
    await ollama.setBehaviour({ tokenDelayMs: 100, reply: 'one two three four five six seven eight nine ten eleven twelve' });
    const { question, job } = await h.ask('Where do bees keep honey?');
    const running = h.run(job);
    await h.waitForEvent((e) => e.type === 'delta' && e.replyTo === question.id);
    await h.services.events.requestCancel(answerJobId(question.id));
    assert.equal((await running).status, 'cancelled');
    const chat = ollama.requests.filter((r) => r.path === '/api/chat').at(-1);
    assert.ok(chat);
    await chat.clientClosed; // the worker dropped the connection: Ollama stops generating
    const reply = await findReply(h.services.db, question.id);
    assert.equal((reply?.metadata['error'] as { code: string }).code, 'cancelled');
    assert.equal(reply?.content, 'The answer was cancelled.');
  });

  it('aborts the model call when the job times out, and leaves the question for the retry', async () => {
    const h = await withOllama({ ANSWER_TIMEOUT_MS: '400' });
    await h.seed('hive', HONEY);
    await ollama.setBehaviour({ initialDelayMs: 5_000 });
    const { question, job } = await h.ask('Where do bees keep honey?');
    await assert.rejects(h.run(job), /ANSWER_TIMEOUT_MS/);
    const chat = ollama.requests.filter((r) => r.path === '/api/chat').at(-1);
    assert.ok(chat);
    await chat.clientClosed;
    assert.equal(await findReply(h.services.db, question.id), undefined);
  });
});
