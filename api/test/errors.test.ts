/**
 * The error renderer on a small Express app: a database that is away (a real pg error from a closed
 * port, a real SqliteError from a full file) is a 503 with Retry-After whose message names the
 * database and not its address, logged at warn with the original; every other 503 gets Retry-After
 * too; any other error stays a 500 without its message.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import express from 'express';
import knexFactory from 'knex';
import pg from 'pg';
import winston from 'winston';
import { UpstreamUnavailableError } from '../../shared/src/errors.js';
import { DATABASE_UNAVAILABLE, UNAVAILABLE_RETRY_AFTER_S, errorHandler } from '../src/http/errors.js';
import { freePort } from '../../test/support/free-port.js';

describe('errorHandler and unavailable dependencies', () => {
  const logged: Array<Record<string, unknown>> = [];
  let thrown: unknown;
  let server: Server;
  let base: string;
  let closedPort: number;

  before(async () => {
    const logger = winston.createLogger({
      level: 'debug',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: lineCollector(logged) })],
    });
    const app = express();
    app.get('/fail', () => {
      throw thrown;
    });
    app.use(errorHandler(logger));
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    closedPort = await freePort();
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    logged.length = 0;
  });

  it('answers 503 upstream_unavailable with Retry-After when pg cannot connect, and names no address', async () => {
    thrown = await pgConnectError(closedPort);
    const reply = await get(base);
    assert.equal(reply.status, 503);
    assert.equal(reply.headers.get('retry-after'), String(UNAVAILABLE_RETRY_AFTER_S));
    assert.deepEqual(reply.body, { error: { code: 'upstream_unavailable', message: DATABASE_UNAVAILABLE } });
    assert.doesNotMatch(reply.text, /127\.0\.0\.1|ECONNREFUSED/);
    assert.ok(!reply.text.includes(String(closedPort)), reply.text);
    const [line] = logged;
    assert.equal(line?.['level'], 'warn');
    assert.match(JSON.stringify(line?.['err']), /ECONNREFUSED/, 'the original error is in the log');
  });

  it('answers 503 for a SqliteError of a full database', async () => {
    const db = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    try {
      await db.raw('create table t (v text)');
      await db.raw('pragma max_page_count = 2');
      thrown = await db('t')
        .insert({ v: 'x'.repeat(100_000) })
        .then(
          () => assert.fail('the insert succeeded'),
          (err: unknown) => err,
        );
    } finally {
      await db.destroy();
    }
    const reply = await get(base);
    assert.equal(reply.status, 503);
    assert.equal(reply.headers.get('retry-after'), String(UNAVAILABLE_RETRY_AFTER_S));
    assert.doesNotMatch(reply.text, /SQLITE|disk is full/);
  });

  it('sets Retry-After on an UpstreamUnavailableError and logs its cause at warn', async () => {
    thrown = new UpstreamUnavailableError('the search failed in a worker; try again', undefined, { cause: new Error('connect ECONNREFUSED 10.0.0.7:5432') });
    const reply = await get(base);
    assert.equal(reply.status, 503);
    assert.equal(reply.headers.get('retry-after'), String(UNAVAILABLE_RETRY_AFTER_S));
    assert.deepEqual(reply.body, { error: { code: 'upstream_unavailable', message: 'the search failed in a worker; try again' } });
    assert.equal(logged[0]?.['level'], 'warn');
    assert.match(JSON.stringify(logged[0]), /10\.0\.0\.7/);
  });

  it('keeps any other error a 500 without its message or Retry-After, logged at error', async () => {
    thrown = new TypeError('cannot read properties of undefined (reading "id")');
    const reply = await get(base);
    assert.equal(reply.status, 500);
    assert.equal(reply.headers.get('retry-after'), null);
    assert.deepEqual(reply.body, { error: { code: 'internal_error', message: 'internal error' } });
    assert.equal(logged[0]?.['level'], 'error');
  });
});

async function get(base: string): Promise<{ status: number; headers: Headers; text: string; body: unknown }> {
  const response = await fetch(`${base}/fail`);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as unknown };
}

/** A winston Stream target that keeps each JSON line as an object. */
function lineCollector(into: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') into.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
}

async function pgConnectError(port: number): Promise<unknown> {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  try {
    await client.connect();
  } catch (err) {
    return err;
  } finally {
    await client.end().catch(() => undefined);
  }
  return assert.fail('connected to a closed port');
}
