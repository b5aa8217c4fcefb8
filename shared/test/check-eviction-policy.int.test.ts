/**
 * The start-up check of Redis's maxmemory-policy against private
 * redis-servers: noeviction passes with an info line, an evicting policy is a warn line naming it,
 * and a Redis that forbids CONFIG (as hosted ones often do) is a warn line saying it could not be checked.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import winston from 'winston';
import { checkEvictionPolicy } from '../src/queue/check-eviction-policy.js';
import { createRedisClient } from '../src/queue/redis-client.js';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';

/** A real winston logger whose JSON lines land in `lines`. */
function recordingLogger(): { logger: winston.Logger; lines: Array<{ level: string; message: string } & Record<string, unknown>> } {
  const lines: Array<{ level: string; message: string } & Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as { level: string; message: string });
      done();
    },
  });
  return { logger: winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] }), lines };
}

describe('checkEvictionPolicy', () => {
  const servers: RedisServerHandle[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  const check = async (extraArgs: string[]) => {
    const server = await startRedisServer({ extraArgs });
    servers.push(server);
    const redis = createRedisClient({ REDIS_URL: server.url, REDIS_TLS_REJECT_UNAUTHORIZED: true }, 'policy-test');
    const { logger, lines } = recordingLogger();
    try {
      return { result: await checkEvictionPolicy(redis, logger), lines };
    } finally {
      redis.disconnect();
    }
  };

  it('accepts noeviction with an info line', async () => {
    const { result, lines } = await check([]);
    assert.deepEqual(result, { status: 'ok', policy: 'noeviction' });
    assert.deepEqual(
      lines.map((line) => line.level),
      ['info'],
    );
  });

  it('warns, naming the policy, when Redis may evict keys', async () => {
    const { result, lines } = await check(['--maxmemory-policy', 'allkeys-lru']);
    assert.deepEqual(result, { status: 'evicting', policy: 'allkeys-lru' });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'warn');
    assert.match(lines[0]?.message ?? '', /not noeviction/);
    assert.equal(lines[0]?.['policy'], 'allkeys-lru');
  });

  it('warns that the policy could not be checked when CONFIG is forbidden', async () => {
    const { result, lines } = await check(['--rename-command', 'CONFIG', '""']);
    assert.equal(result.status, 'unknown');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'warn');
    assert.match(lines[0]?.message ?? '', /could not be checked/);
  });
});
