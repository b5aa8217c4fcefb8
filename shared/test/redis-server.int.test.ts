/**
 * The private redis-server helper that fault-injection tests rely on: it must start on its own
 * port, keep AOF data across a restart, really die on kill -9 and run side by side with others.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from '../../test/support/free-port.js';
import { pingRedis, startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';
import { tempDataDir } from '../../test/support/service-processes.js';

describe('startRedisServer', () => {
  const servers: RedisServerHandle[] = [];
  const clients: Redis[] = [];

  async function start(options?: Parameters<typeof startRedisServer>[0]): Promise<RedisServerHandle> {
    const server = await startRedisServer(options);
    servers.push(server);
    return server;
  }

  async function connectTo(server: RedisServerHandle): Promise<Redis> {
    // No reconnects and no offline queue: a command against a dead server fails at once.
    const client = new Redis(server.url, { lazyConnect: true, retryStrategy: () => null, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    clients.push(client);
    await client.connect();
    return client;
  }

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('starts a server on 127.0.0.1 that answers PING at the url it reports', async () => {
    const server = await start();
    assert.equal(server.url, `redis://127.0.0.1:${server.port}`);
    assert.ok(server.pid > 0);
    assert.equal(server.isRunning, true);
    assert.equal(await pingRedis(server.port), '+PONG');
    const client = await connectTo(server);
    assert.equal(await client.ping(), 'PONG');
  });

  it('stops on stop(), waits for the exit and no longer answers', async () => {
    const server = await start();
    const { pid } = server;
    await server.stop();
    assert.equal(server.isRunning, false);
    assert.equal(server.pid, -1);
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    await assert.rejects(pingRedis(server.port), { code: 'ECONNREFUSED' });
  });

  it('keeps data across a restart when appendOnly is on', async () => {
    const server = await start({ appendOnly: true });
    const { port, pid } = server;
    const client = await connectTo(server);
    await client.set('colmeia:test', 'survives');
    client.disconnect();

    await server.restart();

    assert.equal(server.port, port);
    assert.notEqual(server.pid, pid);
    assert.ok(existsSync(path.join(server.dir, 'appendonlydir')), 'the AOF lives in the server dir');
    assert.equal(await (await connectTo(server)).get('colmeia:test'), 'survives');
  });

  it('starts empty after a restart when appendOnly is off', async () => {
    const server = await start();
    const client = await connectTo(server);
    await client.set('colmeia:test', 'gone');
    client.disconnect();

    await server.restart();

    assert.equal(await (await connectTo(server)).get('colmeia:test'), null);
    assert.deepEqual(readdirSync(server.dir), [], 'nothing was persisted');
  });

  it('dies on kill() like kill -9 and keeps fsynced AOF data on restart', async () => {
    const server = await start({ appendOnly: true, extraArgs: ['--appendfsync', 'always'] });
    const client = await connectTo(server);
    await client.set('colmeia:test', 'fsynced');
    const { pid } = server;

    await server.kill();

    assert.equal(server.isRunning, false);
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    await assert.rejects(client.get('colmeia:test'));
    await assert.rejects(pingRedis(server.port), { code: 'ECONNREFUSED' });

    await server.restart();
    assert.equal(await (await connectTo(server)).get('colmeia:test'), 'fsynced');
  });

  it('runs two servers side by side on different ports with separate data', async () => {
    const [first, second] = await Promise.all([start(), start()]);
    assert.ok(first && second);
    assert.notEqual(first.port, second.port);
    assert.notEqual(first.pid, second.pid);
    assert.notEqual(first.dir, second.dir);
    await (await connectTo(first)).set('colmeia:test', 'first');
    assert.equal(await (await connectTo(second)).get('colmeia:test'), null);

    await first.kill();
    assert.equal(await pingRedis(second.port), '+PONG', 'killing one leaves the other running');
  });

  it('uses the port and the directory it is given', async () => {
    const port = await freePort();
    const dir = tempDataDir();
    const server = await start({ port, dir, appendOnly: true });
    assert.equal(server.port, port);
    assert.equal(server.dir, dir);
    await (await connectTo(server)).set('colmeia:test', 'here');
    assert.ok(existsSync(path.join(dir, 'appendonlydir')));
    await server.close();
    assert.ok(existsSync(dir), 'close() leaves a directory it did not create');
  });

  it('rejects with the server output when the requested port is taken', async () => {
    const first = await start();
    await assert.rejects(startRedisServer({ port: first.port }), /exited during start-up[\s\S]*Address already in use/);
    assert.equal(await pingRedis(first.port), '+PONG');
  });
});
