/**
 * isDatabaseUnavailable on the errors the real drivers raise: pg against a closed port, a server
 * that hangs up and one that answers with a FATAL SQLSTATE (a few lines of the wire protocol on a
 * local socket), knex's pool timing out, and better-sqlite3 (through knex) on a full, read-only, locked or missing file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { isDatabaseUnavailable } from '../src/db/database-errors.js';
import { ValidationError } from '../src/errors.js';
import { freePort } from '../../test/support/free-port.js';

describe('isDatabaseUnavailable with pg and knex', () => {
  it('recognises a connect to a closed port (ECONNREFUSED)', async () => {
    const err = await pgConnectError(`postgres://postgres@127.0.0.1:${await freePort()}/postgres`);
    assert.equal(codeOf(err), 'ECONNREFUSED');
    assert.equal(isDatabaseUnavailable(err), true);
  });

  it('recognises a knex query whose pool cannot connect', async () => {
    const db = knexFactory({ client: 'pg', connection: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`, pool: { min: 0, max: 1 }, log: quietLog });
    try {
      const err = await db.raw('select 1').then(
        () => assert.fail('the query succeeded'),
        (e: unknown) => e,
      );
      assert.equal(isDatabaseUnavailable(err), true, String(err));
    } finally {
      await db.destroy();
    }
  });

  describe('against a local server that speaks a little of the protocol', () => {
    let server: Server;
    let port: number;
    let behaviour: (socket: Socket) => void = () => undefined;
    const sockets = new Set<Socket>();
    before(async () => {
      server = createServer((socket) => {
        sockets.add(socket.once('close', () => sockets.delete(socket)));
        behaviour(socket);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    afterEach(() => {
      for (const socket of sockets) socket.destroy(); // a silent server keeps its connections open
    });

    it("recognises pg's 'Connection terminated unexpectedly' when the server hangs up", async () => {
      behaviour = (socket) => socket.once('data', () => socket.destroy());
      const err = await pgConnectError(`postgres://postgres@127.0.0.1:${port}/postgres`);
      assert.match(String((err as Error).message), /Connection terminated/);
      assert.equal(isDatabaseUnavailable(err), true);
    });

    it("recognises 'Connection terminated unexpectedly' under a knex query the server hangs up on (knex puts the SQL before it)", async () => {
      behaviour = (socket) => {
        socket.once('data', () => {
          socket.write(Buffer.concat([authenticationOk(), readyForQuery()])); // start-up done, no password
          socket.once('data', () => socket.destroy()); // the query: the server goes away under it
        });
      };
      // version given: knex asks a new connection for it otherwise, and the hang-up would land on that question
      const db = knexFactory({
        client: 'pg',
        version: '15',
        connection: `postgres://postgres@127.0.0.1:${port}/postgres`,
        pool: { min: 0, max: 1 },
        log: quietLog,
      });
      try {
        const err = await db.raw('select 1').then(
          () => assert.fail('the query succeeded'),
          (e: unknown) => e,
        );
        assert.match(String((err as Error).message), /^select 1 - Connection terminated unexpectedly/);
        assert.equal(isDatabaseUnavailable(err), true);
      } finally {
        await db.destroy();
      }
    });

    for (const [sqlState, message] of [
      ['57P01', 'terminating connection due to administrator command'],
      ['57P03', 'the database system is starting up'],
      ['53300', 'sorry, too many clients already'],
      ['08006', 'connection failure'],
    ] as const) {
      it(`recognises a FATAL ${sqlState} (${message})`, async () => {
        behaviour = (socket) => socket.once('data', () => socket.end(errorResponse(sqlState, message)));
        const err = await pgConnectError(`postgres://postgres@127.0.0.1:${port}/postgres`);
        assert.equal(codeOf(err), sqlState);
        assert.equal(isDatabaseUnavailable(err), true);
      });
    }

    it('does not take a FATAL for a bad password (28P01) as an outage', async () => {
      behaviour = (socket) => socket.once('data', () => socket.end(errorResponse('28P01', 'password authentication failed')));
      const err = await pgConnectError(`postgres://postgres@127.0.0.1:${port}/postgres`);
      assert.equal(isDatabaseUnavailable(err), false);
    });

    it("recognises knex's 'Timeout acquiring a connection' when the server never answers", async () => {
      behaviour = () => undefined; // accepts and says nothing, like a frozen host
      const db = knexFactory({
        client: 'pg',
        connection: `postgres://postgres@127.0.0.1:${port}/postgres`,
        acquireConnectionTimeout: 200,
        pool: { min: 0, max: 1 },
        log: quietLog,
      });
      const err = await db.raw('select 1').then(
        () => assert.fail('the query succeeded'),
        (e: unknown) => e,
      );
      for (const socket of sockets) socket.destroy(); // lets the pending connect fail, so destroy() does not wait for it
      await db.destroy();
      assert.equal((err as Error).name, 'KnexTimeoutError');
      assert.equal(isDatabaseUnavailable(err), true);
    });
  });
});

describe('isDatabaseUnavailable with better-sqlite3 (through knex, as the services use it)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'colmeia-db-errors-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const sqlite = (name: string, options: Record<string, unknown> = {}): Knex =>
    knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(dir, name), options },
      useNullAsDefault: true,
      pool: { min: 1, max: 1 },
      log: quietLog,
    });
  const failure = (query: Promise<unknown>): Promise<unknown> =>
    query.then(
      () => assert.fail('the statement succeeded'),
      (err: unknown) => err,
    );

  it('recognises SQLITE_FULL (the database cannot grow)', async () => {
    const db = sqlite('full.sqlite');
    try {
      await db.raw('create table t (v text)');
      await db.raw('pragma max_page_count = 2'); // as a full disk: no page can be added
      const err = await failure(db('t').insert({ v: 'x'.repeat(100_000) }));
      assert.equal(codeOf(err), 'SQLITE_FULL');
      assert.equal(isDatabaseUnavailable(err), true);
    } finally {
      await db.destroy();
    }
  });

  it('recognises SQLITE_READONLY (a write to a file opened read-only)', async () => {
    const writer = sqlite('ro.sqlite');
    await writer.raw('create table t (v text)');
    await writer.destroy();
    const db = sqlite('ro.sqlite', { readonly: true });
    try {
      const err = await failure(db('t').insert({ v: 'x' }));
      assert.equal(codeOf(err), 'SQLITE_READONLY');
      assert.equal(isDatabaseUnavailable(err), true);
    } finally {
      await db.destroy();
    }
  });

  it('recognises SQLITE_BUSY (another connection holds the write lock)', async () => {
    const holder = sqlite('busy.sqlite');
    const waiter = sqlite('busy.sqlite');
    try {
      await holder.raw('create table t (v text)');
      await waiter.raw('pragma busy_timeout = 0'); // fail at once instead of waiting 5 s for the lock
      await holder.transaction(async (trx) => {
        await trx('t').insert({ v: 'held' }); // the write lock is ours until the transaction ends
        const err = await failure(waiter('t').insert({ v: 'x' }));
        assert.match(String(codeOf(err)), /^SQLITE_BUSY/);
        assert.equal(isDatabaseUnavailable(err), true);
      });
    } finally {
      await Promise.all([holder.destroy(), waiter.destroy()]);
    }
  });

  it('recognises SQLITE_CANTOPEN (the path cannot be opened as a database file)', async () => {
    mkdirSync(path.join(dir, 'a-directory'));
    const db = sqlite('a-directory');
    try {
      const err = await failure(db.raw('select 1'));
      assert.equal(codeOf(err), 'SQLITE_CANTOPEN');
      assert.equal(isDatabaseUnavailable(err), true);
    } finally {
      await db.destroy();
    }
  });

  it('leaves query bugs and constraint violations alone', async () => {
    const db = sqlite('bugs.sqlite');
    try {
      await db.raw('create table t (v text primary key)');
      await db('t').insert({ v: 'a' });
      const syntax = await failure(db.raw('selec 1'));
      const unique = await failure(db('t').insert({ v: 'a' }));
      assert.equal(codeOf(syntax), 'SQLITE_ERROR');
      assert.equal(isDatabaseUnavailable(syntax), false);
      assert.equal(codeOf(unique), 'SQLITE_CONSTRAINT_PRIMARYKEY');
      assert.equal(isDatabaseUnavailable(unique), false);
    } finally {
      await db.destroy();
    }
  });
});

describe('isDatabaseUnavailable through wrappers', () => {
  it('follows cause and AggregateError.errors, and is false for anything else', async () => {
    const refused = await pgConnectError(`postgres://postgres@127.0.0.1:${await freePort()}/postgres`);
    assert.equal(isDatabaseUnavailable(new Error('storing the document failed', { cause: new Error('tx', { cause: refused }) })), true);
    assert.equal(isDatabaseUnavailable(new AggregateError([new Error('other'), refused])), true);
    for (const other of [undefined, null, 'ECONNREFUSED', new Error('Connection refused'), new ValidationError('bad input'), { code: 42 }]) {
      assert.equal(isDatabaseUnavailable(other), false, JSON.stringify(other) ?? 'undefined');
    }
    const cycle = new Error('a');
    (cycle as { cause?: unknown }).cause = cycle;
    assert.equal(isDatabaseUnavailable(cycle), false);
  });
});

/** knex prints pool errors to the console by default; the tests look at the rejections instead. */
const quietLog = { warn: () => undefined, error: () => undefined, debug: () => undefined, deprecate: () => undefined };

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/** The error pg's Client.connect() rejects with. */
async function pgConnectError(url: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined); // a second report of the same failure
  try {
    await client.connect();
  } catch (err) {
    return err;
  } finally {
    await client.end().catch(() => undefined);
  }
  return assert.fail(`connected to ${url}`);
}

/** AuthenticationOk ('R', 0): the server accepts the start-up without a password. */
function authenticationOk(): Buffer {
  const message = Buffer.alloc(9);
  message.write('R', 0, 'ascii');
  message.writeInt32BE(8, 1);
  message.writeInt32BE(0, 5);
  return message;
}

/** ReadyForQuery ('Z', idle). */
function readyForQuery(): Buffer {
  const message = Buffer.alloc(6);
  message.write('Z', 0, 'ascii');
  message.writeInt32BE(5, 1);
  message.write('I', 5, 'ascii');
  return message;
}

/** A protocol ErrorResponse ('E'): severity FATAL, the SQLSTATE and a message, as a server sends it at start-up. */
function errorResponse(sqlState: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${sqlState}\0M${message}\0\0`, 'utf8');
  const header = Buffer.alloc(5);
  header.write('E', 0, 'ascii');
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

describe('isDatabaseUnavailable on a connection the server ended', () => {
  const url = process.env['TEST_DATABASE_URL'];
  it(
    "recognises pg's 'not queryable' for a statement on a client whose connection failed",
    { skip: url ? false : 'TEST_DATABASE_URL is not set' },
    async () => {
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => undefined); // the termination is reported here too
      const admin = new pg.Client({ connectionString: url });
      await Promise.all([client.connect(), admin.connect()]);
      try {
        const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
        await admin.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
        // The termination reaches the client as a FATAL or a reset, in some order; after it, every query is refused.
        const seen: unknown[] = [];
        const isRefused = (err: unknown) => /not queryable/.test(String(err));
        for (let tries = 0; tries < 20 && !seen.some(isRefused); tries++) {
          const failure = await client.query('select 1').then(
            () => undefined,
            (err: unknown) => err,
          );
          if (failure !== undefined) seen.push(failure);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.ok(seen.some(isRefused), `saw: ${seen.map(String).join('; ')}`);
        for (const err of seen) assert.equal(isDatabaseUnavailable(err), true, String(err));
      } finally {
        await admin.end();
        await client.end().catch(() => undefined);
      }
    },
  );
});
