/**
 * Rate limits and the SSE stream cap across processes: two built web
 * processes share one Redis, so one key has one budget whichever process answers, and a random
 * X-Forwarded-For opens no new bucket. Without keys the budget is per client address, which only
 * the trusted proxy hop may set. Event streams per key are capped across both processes, and a slot
 * comes back when its stream closes. Request counts stay small (limit 20) for a 2-core machine.
 */
import assert from 'node:assert/strict';
import { createHash, randomInt, randomUUID } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { sendInlineCommand, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startWeb, tempDataDir, type WebProcess } from '../support/service-processes.js';
import { waitFor } from '../support/wait-for.js';

const LIMIT = 20;
const STREAMS = 2;
const KEY_1 = `rl-one-${randomUUID()}`;
const KEY_2 = `rl-two-${randomUUID()}`;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

function get(base: string, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens an event stream and resolves once its status line arrives; a 200 stays open until closed. */
function openStream(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; req: ClientRequest; text: Promise<string> }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      const text = new Promise<string>((done) => res.on('close', () => done(Buffer.concat(chunks).toString('utf8'))));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, req, text });
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end();
  });
}

const randomIp = () => `${randomInt(1, 224)}.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
const keyId = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 8);

function assertRateLimited(answer: Answer, rule: string): void {
  assert.equal(answer.status, 429, answer.text);
  const retryAfter = Number(answer.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(answer.headers['retry-after'])}`);
  const error = (JSON.parse(answer.text) as { error: { code: string; message: string; details: Array<{ rule: string }> } }).error;
  assert.equal(error.code, 'rate_limited');
  assert.equal(error.details[0]?.rule, rule);
}

describe('rate limits and stream caps across two web processes', () => {
  let redis: RedisServerHandle;
  let prefix = '';
  const webs: WebProcess[] = [];

  before(async () => {
    redis = await startRedisServer();
    prefix = `rl-${randomUUID()}`;
    const env = {
      REDIS_URL: redis.url,
      DATA_DIR: tempDataDir('colmeia-rate-'),
      QUEUE_PREFIX: prefix,
      API_KEYS: `${KEY_1},${KEY_2}`,
      RATE_LIMIT_MAX: String(LIMIT),
      RATE_LIMIT_WINDOW_MS: '60000',
      MAX_SSE_STREAMS_PER_KEY: String(STREAMS),
    };
    for (let i = 0; i < 2; i++) {
      const web = await startWeb(env); // one after the other: the first one migrates the SQLite file
      await web.waitForHttp(web.url, 30_000);
      webs.push(web);
    }
  });

  after(async () => {
    for (const web of webs) await web.close();
    await redis?.close();
  });

  it('lets about the limit through per key in total, whatever X-Forwarded-For says; 429 carries Retry-After', async (t) => {
    const answers: Answer[] = [];
    for (let i = 0; i < 2 * LIMIT; i++) {
      const web = webs[i % 2] as WebProcess;
      answers.push(await get(web.url, '/documents', { authorization: `Bearer ${KEY_1}`, 'x-forwarded-for': randomIp() }));
    }
    const passed = answers.filter((answer) => answer.status === 200).length;
    t.diagnostic(`${passed} of ${answers.length} requests passed with limit ${LIMIT} over two processes`);
    assert.equal(passed, LIMIT, webs.map((web) => web.lines.filter((line) => !line.includes(' request ')).join('\n')).join('\n'));
    for (const answer of answers.filter((a) => a.status !== 200)) assertRateLimited(answer, 'rate_limit');
    assert.equal((await get(webs[0]!.url, '/documents', { authorization: `Bearer ${KEY_2}` })).status, 200, 'another key has its own budget');
    for (const web of webs) assert.equal((await get(web.url, '/health', {})).status, 200, '/health is exempt');
  });

  it(`caps open event streams per key at ${STREAMS} across both processes and frees a slot on close`, async () => {
    const session = await get(webs[0]!.url, '/chat/sessions', { authorization: `Bearer ${KEY_2}`, 'content-type': 'application/json' }, 'POST', '{}');
    assert.equal(session.status, 201, session.text);
    const events = `/chat/sessions/${(JSON.parse(session.text) as { id: string }).id}/events`;
    const first = await openStream(webs[0]!.url, `${events}?access_token=${encodeURIComponent(KEY_2)}`, {});
    const second = await openStream(webs[1]!.url, events, { authorization: `Bearer ${KEY_2}` });
    assert.deepEqual([first.status, second.status], [200, 200]);
    const refused = await openStream(webs[0]!.url, events, { authorization: `Bearer ${KEY_2}` });
    assertRateLimited({ status: refused.status, headers: refused.headers, text: await refused.text }, 'max_streams');

    const slots = `${prefix}:sse-streams:key:${keyId(KEY_2)}`;
    first.req.destroy();
    await waitFor(async () => (await sendInlineCommand(redis.port, `ZCARD ${slots}`)) === ':1', {
      timeoutMs: 5_000,
      what: 'the closed stream to free its slot',
    });
    const third = await openStream(webs[1]!.url, events, { authorization: `Bearer ${KEY_2}` });
    assert.equal(third.status, 200);
    second.req.destroy();
    third.req.destroy();
    await waitFor(async () => (await sendInlineCommand(redis.port, `ZCARD ${slots}`)) === ':0', { timeoutMs: 5_000, what: 'every slot to be free' });
  });
});

describe('rate limits without keys behind one trusted proxy hop', () => {
  let redis: RedisServerHandle;
  let web: WebProcess;

  before(async () => {
    redis = await startRedisServer();
    web = await startWeb({
      REDIS_URL: redis.url,
      DATA_DIR: tempDataDir('colmeia-rate-ip-'),
      QUEUE_PREFIX: `rl-ip-${randomUUID()}`,
      TRUST_PROXY: '1',
      RATE_LIMIT_MAX: String(LIMIT),
      RATE_LIMIT_WINDOW_MS: '60000',
    });
    await web.waitForHttp(web.url, 30_000);
  });

  after(async () => {
    await web?.close();
    await redis?.close();
  });

  it('counts per client address that the proxy appended, not per spoofed X-Forwarded-For entry', async (t) => {
    // The platform's router appends the address it saw; everything before it is the client's word.
    const router = (client: string) => ({ 'x-forwarded-for': `${randomIp()}, ${randomIp()}, ${client}` });
    const answers: Answer[] = [];
    for (let i = 0; i < LIMIT + 10; i++) answers.push(await get(web.url, '/documents', router('203.0.113.7')));
    const passed = answers.filter((answer) => answer.status === 200).length;
    t.diagnostic(`${passed} of ${answers.length} requests from one address passed with limit ${LIMIT}`);
    assert.equal(passed, LIMIT, web.lines.filter((line) => !line.includes(' request ')).join('\n'));
    for (const answer of answers.filter((a) => a.status !== 200)) assertRateLimited(answer, 'rate_limit');
    assert.equal((await get(web.url, '/documents', router('203.0.113.8'))).status, 200, 'another client address has its own budget');
  });
});
