/**
 * API-key checks: the env-key verifier (equal, unequal length, empty, missing, several keys) and the
 * middleware on a small Express app with a key store over a SQLite file (401 shape and
 * WWW-Authenticate, /health open, access_token only on event-stream routes, the key id on
 * res.locals, the key itself never echoed).
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { loadConfig } from '../../shared/src/config.js';
import { createLogger } from '../../shared/src/logger.js';
import type { Knex } from 'knex';
import { openDatabase } from '../../shared/src/db/connection.js';
import { tempDataDir } from '../../test/support/service-processes.js';
import { apiKeyId, createApiKeyVerifier } from '../src/http/api-key-verifier.js';
import { apiKeyIdOf, requireApiKey } from '../src/http/auth.js';
import { errorHandler } from '../src/http/errors.js';
import { createKeyStore } from '../src/http/key-store.js';

const KEY_A = 'k-3f9a1c7e5b2d4068a1b2c3d4e5f60718';
const KEY_B = 'another-key-of-a-different-length-0123456789';

describe('createApiKeyVerifier', () => {
  const verifier = createApiKeyVerifier([KEY_A, KEY_B]);

  it('accepts each configured key and names it by its id', () => {
    assert.equal(verifier.size, 2);
    assert.equal(verifier.verify(KEY_A), apiKeyId(KEY_A));
    assert.equal(verifier.verify(KEY_B), apiKeyId(KEY_B));
    assert.match(apiKeyId(KEY_A), /^[0-9a-f]{8}$/);
    assert.notEqual(apiKeyId(KEY_A), apiKeyId(KEY_B));
  });

  it('refuses a key of the same length that differs in one byte', () => {
    const oneOff = `${KEY_A.slice(0, -1)}9`;
    assert.equal(oneOff.length, KEY_A.length);
    assert.equal(verifier.verify(oneOff), undefined);
  });

  it('refuses keys of other lengths without throwing', () => {
    for (const presented of [KEY_A.slice(0, -1), `${KEY_A}0`, KEY_A.repeat(100), 'x', `${KEY_A}\u0000`]) {
      assert.doesNotThrow(() => verifier.verify(presented));
      assert.equal(verifier.verify(presented), undefined, JSON.stringify(presented.slice(0, 40)));
    }
  });

  it('refuses the empty key', () => {
    assert.equal(verifier.verify(''), undefined);
  });

  it('accepts nothing when no keys are configured', () => {
    const none = createApiKeyVerifier([]);
    assert.equal(none.size, 0);
    assert.equal(none.verify(''), undefined);
    assert.equal(none.verify(KEY_A), undefined);
  });
});

describe('requireApiKey', () => {
  let server: Server;
  let db: Knex;
  let base = '';

  before(async () => {
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', API_KEYS: `${KEY_A}, ${KEY_B}`, DATA_DIR: tempDataDir('colmeia-auth-') });
    const logger = createLogger(config, 'test');
    db = await openDatabase(config, logger);
    const app = express();
    app.use(requireApiKey(createKeyStore(config, db, logger)));
    app.get('/health', (_req, res) => void res.json({ status: 'ok' }));
    app.get('/whoami', (_req, res) => void res.json({ keyId: apiKeyIdOf(res) ?? null }));
    app.get('/chat/sessions/:id/events', (_req, res) => void res.json({ keyId: apiKeyIdOf(res) ?? null }));
    app.use(errorHandler(createLogger(config, 'test')));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await db.destroy();
  });

  async function get(path: string, authorization?: string): Promise<{ status: number; body: unknown; text: string; wwwAuthenticate: string | null }> {
    const response = await fetch(`${base}${path}`, { headers: authorization === undefined ? {} : { authorization } });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as unknown, text, wwwAuthenticate: response.headers.get('www-authenticate') };
  }

  it('answers 401 unauthorized with WWW-Authenticate for a missing, empty, partial or wrong key', async () => {
    const cases: Array<string | undefined> = [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Basic ${KEY_A}`,
      KEY_A,
      `Bearer ${KEY_A.slice(0, 10)}`,
      `Bearer ${KEY_A}x`,
      `Bearer ${KEY_A} ${KEY_A}`,
      'Bearer wrong',
    ];
    for (const authorization of cases) {
      const answer = await get('/whoami', authorization);
      assert.equal(answer.status, 401, String(authorization));
      assert.match(answer.wwwAuthenticate ?? '', /^Bearer realm="colmeia"/);
      const error = (answer.body as { error: { code: string; message: string; details: Array<{ path: string; rule: string }> } }).error;
      assert.equal(error.code, 'unauthorized');
      assert.ok(error.message.length > 0);
      assert.equal(error.details[0]?.path, 'authorization');
      assert.ok(!answer.text.includes(KEY_A) && !answer.text.includes(KEY_A.slice(0, 10)), 'the key is never echoed');
    }
  });

  it('lets a configured key through and puts its id, not the key, on res.locals', async () => {
    assert.deepEqual((await get('/whoami', `Bearer ${KEY_A}`)).body, { keyId: apiKeyId(KEY_A) });
    assert.deepEqual((await get('/whoami', `bearer   ${KEY_B}`)).body, { keyId: apiKeyId(KEY_B) });
  });

  it('leaves /health open', async () => {
    assert.equal((await get('/health')).status, 200);
  });

  it('takes ?access_token= on event-stream routes only', async () => {
    const token = encodeURIComponent(KEY_A);
    assert.deepEqual((await get(`/chat/sessions/s1/events?access_token=${token}`)).body, { keyId: apiKeyId(KEY_A) });
    assert.equal((await get(`/whoami?access_token=${token}`)).status, 401);
    assert.equal((await get('/chat/sessions/s1/events?access_token=')).status, 401);
    assert.equal((await get('/chat/sessions/s1/events?access_token=nope')).status, 401);
    assert.equal((await get(`/chat/sessions/s1/events?access_token=${token}&access_token=${token}`)).status, 401);
  });
});

describe('API key configuration', () => {
  it('refuses to start in production without keys', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /API_KEYS/);
    assert.throws(() => loadConfig({ NODE_ENV: 'production', API_KEYS: ' , ' }), /API_KEYS/);
    assert.equal(loadConfig({ NODE_ENV: 'production', API_KEYS: KEY_A }).API_KEYS.length, 1);
  });

  it('never puts a key into its error report', () => {
    assert.throws(
      () => loadConfig({ API_KEYS: 'clé-secrète', TRUST_PROXY: 'bogus' }),
      (err: Error) => !err.message.includes('clé-secrète'),
    );
  });
});
