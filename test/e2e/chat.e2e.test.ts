/**
 * Chat across real processes: two built web processes and one worker share a
 * private redis-server and a SQLite file; the Ollama protocol test server is the model. A question
 * posted through web A is answered by the worker and pushed to SSE clients of web B; reconnects with
 * Last-Event-ID lose nothing; polling, Idempotency-Key, cancel and
 * scripts/ask.sh work end to end. The push latency from the answer row's creation to its arrival at
 * a client of the other web process is measured and printed as a test diagnostic.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js';
import { measurePushLatency } from '../support/push-latency.js';
import { sendInlineCommand, type RedisServerHandle } from '../support/redis-server.js';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { run, startWeb, type Env, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { openSseClient, type SseClient, type SseEvent } from '../support/sse-client.js';
import { waitFor } from '../support/wait-for.js';

const KEY = `chat-e2e-${randomUUID()}`;
const AUTH = { Authorization: `Bearer ${KEY}` };
const HONEY = 'Bees store honey in wax cells. The queen lays the eggs while workers guard the hive.';
const REPLY = 'Bees keep honey in wax cells [1].';
const LONG_REPLY = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');

interface Message {
  id: number;
  sessionId: string;
  role: 'user' | 'assistant';
  content: string;
  metadata: Record<string, unknown>;
  replyTo: number | null;
  createdAt: string;
}

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
}

async function api(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...AUTH, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

const asQuestion = (reply: Reply) => reply.body as { message: Message; job: { queue: string; id: string } };
const messageOf = (event: SseEvent) => JSON.parse(event.data) as Message;
const replyTo = (id: number) => (event: SseEvent) => event.event === 'message' && messageOf(event).replyTo === id;

describe('chat across two web processes and a worker', () => {
  let stack: ServiceStack | undefined;
  let redis: RedisServerHandle;
  let ollama: OllamaTestServer;
  let env: Env;
  let webA: WebProcess;
  let webB: WebProcess;
  const clients: SseClient[] = [];
  const extraProcesses: ServiceProcess[] = [];

  const newSession = async () => {
    const created = await api(webA.url, 'POST', '/chat/sessions', { title: 'e2e' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return (created.body as { id: string }).id;
  };
  const listen = async (web: WebProcess, sessionId: string, options: { lastEventId?: string; query?: string } = {}) => {
    const client = await openSseClient(`${web.url}/chat/sessions/${sessionId}/events${options.query ?? ''}`, {
      headers: AUTH,
      ...(options.lastEventId !== undefined ? { lastEventId: options.lastEventId } : {}),
    });
    clients.push(client);
    return client;
  };
  const ask = async (web: WebProcess, sessionId: string, content: string, headers: Record<string, string> = {}) => {
    const posted = await api(web.url, 'POST', `/chat/sessions/${sessionId}/messages`, { content }, headers);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    return asQuestion(posted);
  };

  before(async () => {
    ollama = await startOllamaTestServer({ reply: REPLY });
    stack = await startServiceStack({
      env: {
        API_KEYS: KEY,
        ANSWERER: 'ollama',
        OLLAMA_HOST: ollama.url,
        ANSWER_CONCURRENCY: '1',
        ANSWER_PROGRESS_INTERVAL_MS: '200',
        SSE_HEARTBEAT_MS: '500',
        SSE_RETRY_MS: '100',
        RATE_LIMIT_MAX: '100000',
      },
      webs: 2,
      dataDirPrefix: 'colmeia-chat-e2e-',
    });
    ({ redis } = stack);
    [webA, webB] = stack.webs as [WebProcess, WebProcess];
    env = stack.envFor();
    const posted = await api(webA.url, 'POST', '/documents', { id: 'hive', title: 'Hive notes', text: HONEY });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    await waitFor(async () => ((await api(webA.url, 'GET', '/documents/hive')).body as { status?: string }).status === 'ready', {
      timeoutMs: 15_000,
      what: 'document hive to be ready',
    });
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close(); // frees its slot of MAX_SSE_STREAMS_PER_KEY
  });

  after(async () => {
    await Promise.allSettled(extraProcesses.map((p) => p.close()));
    await stack?.close();
    await ollama?.close();
  });

  it('delivers to a client of web B the progress, tokens and stored answer of a question posted through web A', async () => {
    await ollama.setBehaviour({ tokenDelayMs: 20 });
    const sessionId = await newSession();
    const client = await listen(webB, sessionId);
    const { message: question, job } = await ask(webA, sessionId, 'Where do bees keep honey?');
    assert.equal(job.id, `answer:${question.id}`);
    const answer = await client.waitFor(replyTo(question.id));
    const reply = messageOf(answer);
    assert.equal(answer.id, String(reply.id), 'the SSE id is the message id');
    assert.equal(reply.content, REPLY);
    assert.equal(reply.metadata['type'], 'analysis_result');
    assert.equal((reply.metadata['sources'] as Array<{ documentId: string }>)[0]?.documentId, 'hive');
    const own = (event: SseEvent) => (JSON.parse(event.data) as { replyTo?: number }).replyTo === question.id;
    const deltas = client.events.filter((e) => e.event === 'delta' && own(e)).map((e) => (JSON.parse(e.data) as { text: string }).text);
    assert.equal(deltas.join(''), REPLY);
    const stages = client.events.filter((e) => e.event === 'progress' && own(e)).map((e) => (JSON.parse(e.data) as { stage: string }).stage);
    assert.ok(stages.includes('retrieving') && stages.includes('generating'), `progress stages: ${stages.join(', ')}`);
    assert.ok(
      client.events.some((e) => e.event === 'message' && messageOf(e).id === question.id),
      'the question itself is pushed too',
    );
    await ollama.setBehaviour({ tokenDelayMs: 0 });
  });

  it('streams with SSE headers, a retry hint and a heartbeat comment at least every SSE_HEARTBEAT_MS', async () => {
    const client = await listen(webB, await newSession());
    assert.match(String(client.headers['content-type']), /^text\/event-stream/);
    assert.equal(client.headers['x-accel-buffering'], 'no');
    assert.match(String(client.headers['cache-control']), /no-cache/);
    await waitFor(() => client.comments.filter((c) => c.text.startsWith('heartbeat')).length >= 2, { timeoutMs: 3_000, what: 'two heartbeats' });
    assert.equal(client.retryMs, 100);
    await assert.rejects(listen(webB, 'no-such-session'), /answered 404/);
    await assert.rejects(listen(webB, await newSession(), { lastEventId: 'abc' }), /answered 400/);
    const beats = client.comments.filter((c) => c.text.startsWith('heartbeat')).map((c) => c.receivedAt);
    assert.ok((beats[1] ?? 0) - (beats[0] ?? 0) < 1_500, 'heartbeats every ~500 ms');
  });

  it('gives a client that reconnects with Last-Event-ID exactly the messages it missed', async () => {
    const sessionId = await newSession();
    const first = await listen(webB, sessionId);
    const q1 = await ask(webA, sessionId, 'Where do bees keep honey?');
    await first.waitFor(replyTo(q1.message.id));
    const lastSeen = first.lastEventId;
    first.close();
    const q2 = await ask(webA, sessionId, 'Who lays the eggs?');
    const q3 = await ask(webB, sessionId, 'Who guards the hive?');
    const resumed = await listen(webA, sessionId, { lastEventId: lastSeen ?? '0' });
    await resumed.waitFor(replyTo(q3.message.id));
    await resumed.waitFor(replyTo(q2.message.id));
    const ids = resumed.events.filter((e) => e.event === 'message').map((e) => Number(e.id));
    assert.ok(
      ids.every((id) => id > Number(lastSeen)),
      'nothing at or before Last-Event-ID is sent again',
    );
    assert.deepEqual(ids, [...new Set(ids)], 'no message twice');
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'messages in id order',
    );
    assert.ok(ids.includes(q2.message.id) && ids.includes(q3.message.id));
    const viaQuery = await listen(webB, sessionId, { query: `?after=${q2.message.id}` });
    await viaQuery.waitFor(replyTo(q3.message.id));
    assert.ok(
      viaQuery.events.filter((e) => e.event === 'message').every((e) => Number(e.id) > q2.message.id),
      '?after= works like Last-Event-ID',
    );
  });

  it('answers polling with only the messages after ?after=', async () => {
    const sessionId = await newSession();
    const q = await ask(webA, sessionId, 'Where do bees keep honey?');
    await waitFor(
      async () =>
        ((await api(webB.url, 'GET', `/chat/sessions/${sessionId}/messages?after=${q.message.id}`)).body as { messages: Message[] }).messages.length === 1,
      {
        timeoutMs: 15_000,
        what: 'the answer to be pollable',
      },
    );
    const all = (await api(webB.url, 'GET', `/chat/sessions/${sessionId}/messages`)).body as { messages: Message[]; hasMore: boolean };
    assert.deepEqual(
      all.messages.map((m) => m.role),
      ['user', 'assistant'],
    );
    assert.equal(all.hasMore, false);
    const newer = (await api(webB.url, 'GET', `/chat/sessions/${sessionId}/messages?after=${q.message.id}`)).body as { messages: Message[] };
    assert.deepEqual(
      newer.messages.map((m) => m.replyTo),
      [q.message.id],
    );
    const none = (await api(webB.url, 'GET', `/chat/sessions/${sessionId}/messages?after=${newer.messages[0]?.id ?? 0}`)).body as { messages: Message[] };
    assert.deepEqual(none.messages, []);
    assert.equal((await api(webB.url, 'GET', `/chat/sessions/${sessionId}/messages?after=-1`)).status, 400);
    assert.equal((await api(webB.url, 'GET', '/chat/sessions/no-such-session/messages')).status, 404);
    assert.equal((await api(webB.url, 'GET', `/chat/sessions/${sessionId}`)).status, 200);
  });

  it('returns the first response to an Idempotency-Key retry, with no second question or job', async () => {
    const sessionId = await newSession();
    const key = { 'Idempotency-Key': `retry-${randomUUID()}` };
    const client = await listen(webB, sessionId);
    const first = await api(webA.url, 'POST', `/chat/sessions/${sessionId}/messages`, { content: 'Where do bees keep honey?' }, key);
    const retry = await api(webB.url, 'POST', `/chat/sessions/${sessionId}/messages`, { content: 'Where do bees keep honey?' }, key);
    assert.equal(first.status, 202);
    assert.equal(retry.status, 202);
    assert.deepEqual(retry.body, first.body);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const reused = await api(webA.url, 'POST', `/chat/sessions/${sessionId}/messages`, { content: 'Something else?' }, key);
    assert.equal(reused.status, 409);
    const question = asQuestion(first).message;
    await client.waitFor(replyTo(question.id));
    const messages = ((await api(webA.url, 'GET', `/chat/sessions/${sessionId}/messages`)).body as { messages: Message[] }).messages;
    assert.deepEqual(
      messages.map((m) => m.role),
      ['user', 'assistant'],
      'one question, one answer',
    );
  });

  it('cancels a running answer (aborting the model) and a waiting one, storing and pushing a cancelled message for each', async () => {
    await ollama.setBehaviour({ reply: LONG_REPLY, tokenDelayMs: 50 });
    try {
      const sessionId = await newSession();
      const client = await listen(webB, sessionId);
      const running = await ask(webA, sessionId, 'Tell me everything about bees');
      const waiting = await ask(webA, sessionId, 'And about wax'); // ANSWER_CONCURRENCY=1: it waits behind the first
      await client.waitFor((e) => e.event === 'delta' && (JSON.parse(e.data) as { replyTo: number }).replyTo === running.message.id);
      const cancelWaiting = await api(webB.url, 'POST', `/jobs/answer/${waiting.job.id}/cancel`);
      assert.equal(cancelWaiting.status, 200, JSON.stringify(cancelWaiting.body));
      assert.equal((cancelWaiting.body as { status: string }).status, 'cancelled');
      const cancelRunning = await api(webB.url, 'POST', `/jobs/answer/${running.job.id}/cancel`);
      assert.equal(cancelRunning.status, 202, JSON.stringify(cancelRunning.body));
      assert.equal((cancelRunning.body as { status: string }).status, 'cancelling');
      for (const question of [running, waiting]) {
        const stored = messageOf(await client.waitFor(replyTo(question.message.id)));
        assert.equal((stored.metadata['error'] as { code: string }).code, 'cancelled');
      }
      await waitFor(async () => ((await api(webA.url, 'GET', `/jobs/answer/${running.job.id}`)).body as { status: string }).status === 'cancelled', {
        timeoutMs: 5_000,
        what: 'the running job to report cancelled',
      });
      assert.equal(((await api(webA.url, 'GET', `/jobs/answer/${waiting.job.id}`)).body as { status: string }).status, 'cancelled');
      assert.equal((await api(webA.url, 'POST', `/jobs/answer/${running.job.id}/cancel`)).status, 200, 'cancelling twice is harmless');
      const chat = ollama.requests.filter((r) => r.path === '/api/chat').at(-1);
      assert.ok(chat?.isClientClosed, 'the model call was aborted');
      const answered = await ask(webA, sessionId, 'Where do bees keep honey?');
      await client.waitFor(replyTo(answered.message.id), 20_000);
      assert.equal((await api(webA.url, 'POST', `/jobs/answer/${answered.job.id}/cancel`)).status, 409, 'an answered question cannot be cancelled');
    } finally {
      await ollama.setBehaviour({ reply: REPLY, tokenDelayMs: 0 });
    }
  });

  it('streams an answer with scripts/ask.sh, printing tokens and then the sources, and gets it by polling with --poll', async () => {
    const scriptEnv = { API_URL: webA.url, API_KEY: KEY };
    const streamed = await run('bash', ['scripts/ask.sh', 'Where do bees keep honey?'], scriptEnv, { timeoutMs: 30_000 });
    assert.equal(streamed.code, 0, streamed.stderr);
    assert.match(streamed.stdout, new RegExp(`^${REPLY.replace(/[[\].]/g, '\\$&')}\n\nSources:\n\\[1\\] Hive notes \\(document hive, score [0-9.]+\\)`));
    assert.match(streamed.stderr, /question [0-9]+, job answer:[0-9]+/);
    const polled = await run(
      'bash',
      ['scripts/ask.sh', '--poll', 'Where do bees keep honey?'],
      { ...scriptEnv, ASK_POLL_INTERVAL: '0.2' },
      { timeoutMs: 30_000 },
    );
    assert.equal(polled.code, 0, polled.stderr);
    assert.match(polled.stdout, /Bees keep honey in wax cells \[1\]\.\n\nSources:\n\[1\] Hive notes/);
  });

  it('ends SSE streams on SIGTERM so the web exits at once, and the client resumes on the other web with Last-Event-ID', async () => {
    const webC = await startWeb(env);
    extraProcesses.push(webC);
    await webC.waitForHttp(webC.url);
    const sessionId = await newSession();
    const client = await listen(webC, sessionId);
    const q1 = await ask(webA, sessionId, 'Where do bees keep honey?');
    await client.waitFor(replyTo(q1.message.id));
    const exit = await webC.stop('SIGTERM');
    assert.equal(exit.code, 0);
    assert.ok(exit.durationMs < 5_000, `web exited ${exit.durationMs} ms after SIGTERM with a stream open`);
    await client.ended;
    const q2 = await ask(webA, sessionId, 'Who lays the eggs?');
    const resumed = await listen(webB, sessionId, { lastEventId: client.lastEventId ?? '0' });
    await resumed.waitFor(replyTo(q2.message.id));
    assert.deepEqual(
      resumed.events
        .filter((e) => e.event === 'message')
        .map((e) => Number(e.id))
        .slice(0, 1),
      [q2.message.id],
    );
  });

  it('replays to its streams what a web process missed while its Redis subscription was down', async (t) => {
    const sessionId = await newSession();
    const client = await listen(webB, sessionId);
    const fromLine = webB.lines.length;
    const clientList = await sendInlineCommand(redis.port, 'CLIENT LIST TYPE pubsub');
    const subscriber = new RegExp(`^id=([0-9]+) .*name=colmeia-api-events-sub-${webB.pid}\\b`, 'm').exec(clientList)?.[1];
    assert.ok(subscriber, clientList);
    assert.equal(await sendInlineCommand(redis.port, `CLIENT KILL ID ${subscriber}`), ':1');
    const question = await ask(webA, sessionId, 'Where do bees keep honey?'); // answered while web B hears nothing
    const restored = await webB.waitForLine(/redis events subscription restored/, 10_000, fromLine);
    const answer = messageOf(await client.waitFor(replyTo(question.message.id)));
    const gapMs = Date.parse(restored.split(' ')[0] ?? '') - Date.parse(answer.createdAt);
    t.diagnostic(`answer stored ${gapMs} ms before web B's subscription was back${gapMs > 0 ? ': delivered by the resync replay' : ''}`);
    const ids = client.events.filter((e) => e.event === 'message').map((e) => Number(e.id));
    assert.deepEqual(ids, [question.message.id, ids[1]], 'the question and its answer, once each');
  });

  it('pushes each answer to a client of the other web process within tens of milliseconds of its row being written', async (t) => {
    const sessionId = await newSession();
    const result = await measurePushLatency({ postBase: webA.url, streamBase: webB.url, sessionId, questions: 200, headers: AUTH });
    t.diagnostic(`push latency (answer row created -> SSE client on the other web), n=${result.latency.count}: ${JSON.stringify(result.latency)}`);
    t.diagnostic(`question round trip (POST -> answer at the client): ${JSON.stringify(result.roundTrip)}`);
    assert.ok(result.latency.p50Ms < 100, `p50 ${result.latency.p50Ms} ms`);
    assert.ok(result.latency.p99Ms < 1_000, `p99 ${result.latency.p99Ms} ms is below polling's 1 s mean`);
  });
});
