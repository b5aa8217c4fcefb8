/**
 * Tests and the benchmark start web and worker with their Procfile lines' node flags (heap sizes
 * are part of what the memory figures measure), and `npm run start:*` runs the same lines.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseProcfileCommand, readProcfileCommand } from '../support/procfile-command.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { repoRoot, startWorker, tempDataDir, WEB_ENTRY, WORKER_ENTRY } from '../support/service-processes.js';

describe('the deployed command lines', () => {
  let redis: RedisServerHandle;

  before(async () => {
    redis = await startRedisServer();
  });

  after(async () => {
    await redis.close();
  });

  it('reads environment, node flags and entry from a Procfile line, and refuses anything else', () => {
    assert.deepEqual(parseProcfileCommand(' MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 dist/worker/src/main.js'), {
      env: { MALLOC_ARENA_MAX: '2' },
      nodeFlags: ['--max-semi-space-size=2'],
      entry: 'dist/worker/src/main.js',
    });
    assert.throws(() => parseProcfileCommand('bash run.sh'), /does not run node/);
    assert.throws(() => parseProcfileCommand('node main.js --port 3'), /is not node \[--flag \.\.\.\] <entry>/);
  });

  it('npm run start:web and start:worker run the Procfile lines', () => {
    const scripts = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const [type, entry] of [
      ['web', WEB_ENTRY],
      ['worker', WORKER_ENTRY],
    ] as const) {
      const procfile = readProcfileCommand(repoRoot, type);
      assert.equal(procfile.entry, entry);
      assert.deepEqual(parseProcfileCommand(scripts[`start:${type}`] ?? ''), procfile, `start:${type}`);
    }
  });

  it('a worker started for a test runs with the Procfile flags', async () => {
    const worker = await startWorker({ DATA_DIR: tempDataDir(), REDIS_URL: redis.url, EMBEDDER: 'builtin', ANSWERER: 'extractive' });
    try {
      await worker.waitForLine(/worker ready/, 30_000);
      const argv = readFileSync(`/proc/${worker.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      assert.deepEqual(argv.slice(1), [...readProcfileCommand(repoRoot, 'worker').nodeFlags, WORKER_ENTRY]);
    } finally {
      await worker.close();
    }
  });
});
