/**
 * The curl scripts (scripts/*.sh) against the built web and worker processes: smoke.sh runs the
 * whole flow (also with the python3 and node JSON fallbacks), and ingest.sh, search.sh, jobs.sh and
 * remove.sh their main paths; every script has --help, and fails with a clear message and a
 * non-zero status on a wrong key or when no service answers.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/free-port.js';
import { pdfWithText } from '../support/pdf-files.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { run, startWeb, startWorker, tempDataDir, type Env, type RunResult, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { ApiClient, waitForSettled, type DocumentView } from './jobs-harness.js';

const KEY = `scripts-e2e-${randomUUID()}`;
const SCRIPTS = ['ingest', 'search', 'ask', 'remove', 'jobs', 'docs', 'smoke'] as const;

describe('the curl scripts against real processes', () => {
  let redis: RedisServerHandle;
  let web: WebProcess;
  let worker: ServiceProcess;
  let client: ApiClient;
  let scriptEnv: Env;

  const script = (name: string, args: string[], env: Env = {}): Promise<RunResult> =>
    run('bash', [`scripts/${name}.sh`, ...args], { ...scriptEnv, ...env }, { timeoutMs: 90_000 });
  const explain = (result: RunResult) => `exit ${String(result.code)}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
  const folder = (files: Record<string, string | Buffer>): string => {
    const dir = tempDataDir('colmeia-scripts-docs-');
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), content);
    }
    return dir;
  };
  const seed = async (tag: string, ids: string[]) => {
    for (const id of ids) assert.equal((await client.post('/documents', { id, text: `${tag} note ${id} about honey and wax`, metadata: { tag } })).status, 202);
    await waitForSettled(client, ids, 15_000);
  };

  before(async () => {
    redis = await startRedisServer();
    const env: Env = {
      REDIS_URL: redis.url,
      DATA_DIR: tempDataDir('colmeia-scripts-e2e-'),
      QUEUE_PREFIX: `e2e-${randomUUID()}`,
      API_KEYS: KEY,
      RATE_LIMIT_MAX: '100000',
      CHUNK_SIZE: '200',
      CHUNK_OVERLAP: '20',
      MAX_CHUNKS_PER_DOCUMENT: '5',
      JOB_ATTEMPTS: '1',
    };
    web = await startWeb(env);
    worker = await startWorker(env);
    await Promise.all([web.waitForHttp(web.url), worker.waitForLine(/worker ready/, 30_000)]);
    client = new ApiClient(() => web.url, KEY);
    scriptEnv = { API_URL: web.url, API_KEY: KEY, POLL_INTERVAL: '0.1', ASK_POLL_INTERVAL: '0.2' };
  });

  after(async () => {
    await Promise.allSettled([web?.close(), worker?.close()]);
    await redis?.close();
  });

  it('prints its usage for --help, and to stderr with exit 1 when called without arguments', async () => {
    for (const name of SCRIPTS) {
      const help = await script(name, ['--help'], { API_URL: undefined, API_KEY: undefined });
      assert.equal(help.code, 0, `${name} --help: ${explain(help)}`);
      assert.match(help.stdout, new RegExp(`^Usage: scripts/${name}\\.sh`), name);
      assert.match(help.stdout, /API_URL/, `${name} --help names API_URL`);
      if (name === 'smoke') continue; // runs without arguments
      const bare = await script(name, []);
      assert.equal(bare.code, 1, `${name} without arguments: ${explain(bare)}`);
      assert.match(bare.stderr, /Usage:/, name);
    }
  });

  it('smoke.sh runs the whole flow and passes', async () => {
    const result = await script('smoke', []);
    assert.equal(result.code, 0, explain(result));
    for (const step of [
      'ingest (ingest.sh)',
      'search (search.sh)',
      'ask (ask.sh)',
      'remove dry run',
      'remove (remove.sh)',
      'GET /documents/<id> is 404',
      'search no longer finds it',
    ]) {
      assert.match(result.stdout, new RegExp(`^ok  ${step.replace(/[()/<>.]/g, '\\$&')}`, 'm'), step);
    }
    assert.match(result.stdout, /smoke test passed/);
  });

  it('smoke.sh passes with the node and python3 fallbacks for JSON', async (t) => {
    const python = await run('bash', ['-c', 'command -v python3']);
    for (const tool of python.code === 0 ? ['node', 'python3'] : ['node']) {
      const result = await script('smoke', [], { JSON_TOOL: tool });
      assert.equal(result.code, 0, `JSON_TOOL=${tool}: ${explain(result)}`);
    }
    if (python.code !== 0) t.diagnostic('python3 is not installed: only the node fallback was run');
  });

  it('ingest.sh uploads a folder with metadata, shows each document and a summary, and names what it refused', async () => {
    const waxText = '# Wax\n\nWorkers secrete wax from glands.';
    const dir = folder({
      'bees.txt': 'Honey bees store nectar in the comb.',
      'guide/wax.md': waxText,
      'queen.html': '<html><body><h1>Queen</h1><p>The queen lays eggs.</p><script>x()</script></body></html>',
      'hive.pdf': pdfWithText(['A hive holds fifty thousand bees.']),
      'photo.txt': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x0d]),
      'notes.docx': 'not taken: another extension',
    });
    const result = await script('ingest', ['-m', '{"team":"ingest-test"}', '-p', 'kb:', dir]);
    assert.equal(result.code, 1, explain(result)); // one file was refused
    assert.match(result.stdout, /^\[1\/5\] .*bees\.txt → kb:bees\.txt: uploaded \(job ingest:kb:bees\.txt:1\)$/m);
    assert.match(result.stdout, /^\[\d\/5\] .*photo\.txt: refused: HTTP 400 validation_failed: file "photo\.txt" cannot be read: it is not UTF-8 text/m);
    for (const name of ['bees.txt', 'guide/wax.md', 'queen.html', 'hive.pdf'])
      assert.match(result.stdout, new RegExp(`${name.replace('.', '\\.')}: ready \\(1 chunk\\)`), name);
    assert.match(result.stdout, /^summary: 4 ready, 0 failed, 1 refused \(of 5\)$/m);
    const wax = await client.document('kb:guide:wax.md');
    assert.deepEqual((wax as DocumentView & { metadata: unknown }).metadata, {
      team: 'ingest-test',
      source: { fileName: 'wax.md', contentType: 'text/markdown', bytes: Buffer.byteLength(waxText) },
    });

    const single = await script('ingest', ['--id', 'custom-id', '--title', 'Custom title', path.join(dir, 'hive.pdf')]);
    assert.equal(single.code, 0, explain(single));
    assert.match(single.stdout, /→ custom-id: uploaded/);
    assert.match(single.stdout, /^summary: 1 ready, 0 failed, 0 refused \(of 1\)$/m);
  });

  it('search.sh prints the best passages, filtered with --where, or the JSON with --json', async () => {
    await seed('search-test', ['search-a', 'search-b']);
    const result = await script('search', ['-k', '2', '-w', '{"tag":"search-test"}', 'honey', 'and', 'wax']);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, /^1\. [0-9.]+ {2}untitled \(search-[ab]\)\n {3}search-test note search-[ab] about honey and wax$/m);
    assert.equal(result.stdout.match(/^\d\. /gm)?.length, 2);
    const json = await script('search', ['--json', '-k', '1', 'honey']);
    assert.equal(json.code, 0, explain(json));
    assert.equal((JSON.parse(json.stdout) as { results: unknown[] }).results.length, 1);
    const invalid = await script('search', ['-w', '{"tag":{"$like":"x"}}', 'honey']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /HTTP 400 validation_failed: invalid search: where\.tag\.\$like: unknown operator/);
  });

  it('ingest.sh, search.sh and ask.sh work in another collection with -c', async () => {
    const created = await client.post('/collections', { id: 'scripts' });
    assert.equal(created.status, 201, created.text);
    const dir = folder({ 'propolis.txt': 'Bees seal the hive with propolis, a resin glue.' });
    const ingested = await script('ingest', ['-c', 'scripts', dir]);
    assert.equal(ingested.code, 0, explain(ingested));
    assert.match(ingested.stdout, /propolis\.txt: uploaded \(job ingest@scripts:propolis\.txt:1\)/);
    const inside = await script('search', ['-c', 'scripts', '--json', 'propolis resin']);
    assert.equal(inside.code, 0, explain(inside));
    assert.equal((JSON.parse(inside.stdout) as { results: Array<{ documentId: string }> }).results[0]?.documentId, 'propolis.txt');
    const outside = await script('search', ['--json', 'propolis resin']);
    assert.ok(!(JSON.parse(outside.stdout) as { results: Array<{ text: string }> }).results.some((hit) => hit.text.includes('propolis')));
    const asked = await script('ask', ['-c', 'scripts', '--poll', 'What do bees seal the hive with?']);
    assert.equal(asked.code, 0, explain(asked));
    assert.match(asked.stdout, /propolis/);
    const unknown = await script('search', ['-c', 'nope', 'x']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /HTTP 404 not_found: collection nope not found/);
  });

  it('jobs.sh shows a failed job, retries it and waits for it', async () => {
    const dir = folder({ 'long.txt': 'lorem ipsum dolor sit amet '.repeat(60) }); // more chunks than MAX_CHUNKS_PER_DOCUMENT
    const ingest = await script('ingest', ['-p', 'jobs-test:', dir]);
    assert.equal(ingest.code, 1, explain(ingest));
    assert.match(ingest.stdout, /long\.txt: failed: .*MAX_CHUNKS_PER_DOCUMENT/);
    const status = await script('jobs', ['status', 'ingest:jobs-test:long.txt:1']);
    assert.equal(status.code, 0, explain(status));
    assert.match(status.stdout, /^ingest:jobs-test:long\.txt:1 {2}ingest {2}failed {2}\d+% {2}attempts 1$/m);
    assert.match(status.stdout, /^error: .*MAX_CHUNKS_PER_DOCUMENT/m);
    const retry = await script('jobs', ['retry', 'ingest', 'ingest:jobs-test:long.txt:1']);
    assert.equal(retry.code, 0, explain(retry));
    assert.equal(retry.stdout, 'ingest:jobs-test:long.txt:1: waiting again\n');
    const waited = await script('jobs', ['wait', '--timeout', '30', 'ingest:jobs-test:long.txt:1']);
    assert.equal(waited.code, 2, explain(waited)); // it fails again, for the same reason
    assert.match(waited.stdout, /failed/);
    const refused = await script('jobs', ['retry', 'ingest:kb:nope:1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /HTTP 404 not_found/);
  });

  it('remove.sh says what a dry run would remove, then removes by filter and by id', async () => {
    await seed('remove-test', ['remove-a', 'remove-b', 'remove-c']);
    const dry = await script('remove', ['--dry-run', '--where', '{"tag":"remove-test"}']);
    assert.equal(dry.code, 0, explain(dry));
    assert.equal(dry.stdout, 'where {"tag":"remove-test"}: would remove 3 documents, 3 chunks\n');
    assert.equal((await client.document('remove-a'))?.status, 'ready', 'a dry run removes nothing');
    const byId = await script('remove', ['remove-a', 'remove-nope']);
    assert.equal(byId.code, 1, explain(byId)); // remove-nope does not exist; remove-a still goes
    assert.equal(byId.stdout, 'remove-a: removed 1 document, 1 chunk\n');
    assert.match(byId.stderr, /DELETE \/documents\/remove-nope: HTTP 404 not_found: document remove-nope not found/);
    const byFilter = await script('remove', ['-w', '{"tag":"remove-test"}']);
    assert.equal(byFilter.code, 0, explain(byFilter));
    assert.equal(byFilter.stdout, 'where {"tag":"remove-test"}: removed 2 documents, 2 chunks\n');
    assert.equal(await client.document('remove-b'), undefined);
  });

  it('fails with a clear message and exit 1 on a wrong key, or when no service answers', async () => {
    const dir = folder({ 'a.txt': 'text' });
    const calls: Array<[string, string[]]> = [
      ['ingest', [dir]],
      ['search', ['honey']],
      ['remove', ['--where', '{"tag":"x"}']],
      ['jobs', ['status', 'ingest:x:1']],
      ['ask', ['why?']],
      ['smoke', []],
    ];
    const closedPort = await freePort();
    for (const [name, args] of calls) {
      const wrongKey = await script(name, args, { API_KEY: 'wrong-key' });
      assert.equal(wrongKey.code, 1, `${name} with a wrong key: ${explain(wrongKey)}`);
      assert.match(wrongKey.stdout + wrongKey.stderr, /401|unauthorized|not accepted|could not create/i, name);
      if (name !== 'ask') assert.match(wrongKey.stdout + wrongKey.stderr, /HTTP 401 unauthorized: the API key is not valid \(check API_KEY\)/, name);
      const noService = await script(name, args, { API_URL: `http://127.0.0.1:${closedPort}` });
      assert.equal(noService.code, 1, `${name} without a service: ${explain(noService)}`);
      if (name !== 'ask') assert.match(noService.stdout + noService.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${closedPort}`), name);
    }
  });
});
