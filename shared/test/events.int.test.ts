/**
 * createEvents against a private redis-server: session events reach only that session's local
 * listeners, validated; malformed ones are dropped; cancels travel to workers and leave a flag; and
 * a web subscriber whose connection is dropped tells every listener to resync once
 * Redis has confirmed the new subscription, so streams can replay what the gap swallowed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createEvents, type ChatEvent, type Events, type SessionSignal } from '../src/events.js';
import { sendInlineCommand, startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';

const delta = (text: string): ChatEvent => ({ type: 'delta', replyTo: 1, jobId: 'answer:1', attempt: 1, index: 0, text });

/** Resolves with the first signal matching predicate, or rejects after timeoutMs. */
function nextSignal(events: Events, sessionId: string, predicate: (signal: SessionSignal) => boolean, timeoutMs = 5_000): Promise<SessionSignal> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching signal within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = events.subscribe(sessionId, (signal) => {
      if (!predicate(signal)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(signal);
    });
  });
}

describe('events over Redis pub/sub', () => {
  let redis: RedisServerHandle;
  let config: Config;
  const opened: Events[] = [];
  const open = (role: 'api' | 'worker') => {
    const events = createEvents(config, role, createLogger(config, 'test'));
    opened.push(events);
    return events;
  };

  before(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((events) => events.close()));
  });
  after(() => redis.close());

  it("delivers a session's events to that session's local listeners only, and stops after unsubscribe", async () => {
    config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', REDIS_URL: redis.url, QUEUE_PREFIX: `test-${randomUUID()}` });
    const web = open('api');
    const worker = open('worker');
    await web.ready();
    const seen: Array<[string, SessionSignal]> = [];
    const stopA = web.subscribe('session-a', (signal) => seen.push(['a', signal]));
    web.subscribe('session-b', (signal) => seen.push(['b', signal]));
    const arrived = nextSignal(web, 'session-a', (signal) => signal.type === 'delta' && signal.text === 'two');
    await worker.publish('session-a', delta('one'));
    await worker.publish('session-a', delta('two'));
    await arrived;
    assert.deepEqual(seen, [
      ['a', delta('one')],
      ['a', delta('two')],
    ]);
    stopA();
    const third = nextSignal(web, 'session-b', (signal) => signal.type === 'delta');
    await worker.publish('session-a', delta('three'));
    await worker.publish('session-b', delta('four'));
    await third;
    assert.deepEqual(
      seen.map(([session, signal]) => [session, signal.type === 'delta' ? signal.text : signal.type]),
      [
        ['a', 'one'],
        ['a', 'two'],
        ['b', 'four'],
      ],
    );
  });

  it('drops a malformed event and keeps delivering the next ones', async () => {
    config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', REDIS_URL: redis.url, QUEUE_PREFIX: `test-${randomUUID()}` });
    const web = open('api');
    await web.ready();
    const seen: SessionSignal[] = [];
    web.subscribe('s', (signal) => seen.push(signal));
    const good = nextSignal(web, 's', (signal) => signal.type === 'delta');
    const raw = new Redis(redis.url);
    try {
      await raw.publish(`${config.QUEUE_PREFIX}:chat:s`, '{not json');
      await raw.publish(`${config.QUEUE_PREFIX}:chat:s`, JSON.stringify({ type: 'message', message: { id: 'x' }, prevId: 0 }));
      await raw.publish(`${config.QUEUE_PREFIX}:chat:s`, JSON.stringify(delta('ok')));
    } finally {
      raw.disconnect();
    }
    await good;
    assert.deepEqual(seen, [delta('ok')]);
  });

  it('carries a cancel to workers and leaves a flag for a job that starts later', async () => {
    config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', REDIS_URL: redis.url, QUEUE_PREFIX: `test-${randomUUID()}` });
    const web = open('api');
    const worker = open('worker');
    await worker.ready();
    const heard = new Promise<string>((resolve) => worker.onCancel(resolve));
    assert.equal(await worker.isCancelRequested('answer:7'), false);
    await web.requestCancel('answer:7');
    assert.equal(await heard, 'answer:7');
    assert.equal(await worker.isCancelRequested('answer:7'), true);
    assert.equal(await worker.isCancelRequested('answer:8'), false);
  });

  it('tells every listener to resync once a dropped subscriber connection is subscribed again', async () => {
    config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', REDIS_URL: redis.url, QUEUE_PREFIX: `test-${randomUUID()}` });
    const web = open('api');
    const worker = open('worker');
    await web.ready();
    const resynced = Promise.all([nextSignal(web, 'a', (s) => s.type === 'resync'), nextSignal(web, 'b', (s) => s.type === 'resync')]);
    const clients = await sendInlineCommand(redis.port, 'CLIENT LIST TYPE pubsub');
    const ids = [...clients.matchAll(/^id=([0-9]+) .*name=colmeia-api-events-sub-/gm)].map((match) => match[1]);
    assert.ok(ids.length >= 1, clients);
    for (const id of ids) assert.equal(await sendInlineCommand(redis.port, `CLIENT KILL ID ${id ?? ''}`), ':1');
    await resynced;
    const after = nextSignal(web, 'a', (s) => s.type === 'delta');
    await worker.publish('a', delta('after the gap'));
    assert.deepEqual(await after, delta('after the gap'), 'live delivery works again');
  });
});
