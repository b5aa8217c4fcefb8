/**
 * scripts/ingest.sh --sync against the built web and worker processes: a folder of 300 files synced,
 * then changed, pruned and extended, then synced again unchanged. The counts are exact, and unchanged
 * files are not sent again: their documents keep revision 1 (every upload makes a new revision). Then
 * a web process limited to 50 requests a minute: the sync meets 429s, waits their Retry-After, and
 * completes. docs.sh lists and counts what the sync left.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run, tempDataDir, type RunResult, type WebProcess } from '../support/service-processes.js';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { ApiClient } from './jobs-harness.js';

const KEY = `sync-e2e-${randomUUID()}`;
const FILES = 300;

interface HashRow {
  id: string;
  revision: number;
  status: string;
}

describe('ingest.sh --sync against real processes', () => {
  let stack: ServiceStack | undefined;
  let web: WebProcess;
  let limitedWeb: WebProcess;
  let client: ApiClient;

  const script = (name: string, args: string[], url: string): Promise<RunResult> =>
    run('bash', [`scripts/${name}.sh`, ...args], { API_URL: url, API_KEY: KEY, POLL_INTERVAL: '0.1', SYNC_POLL_INTERVAL: '0.2' }, { timeoutMs: 240_000 });
  const explain = (result: RunResult) =>
    `exit ${String(result.code)}\n--- stdout ---\n${result.stdout.slice(-3000)}\n--- stderr ---\n${result.stderr.slice(-3000)}`;
  const noteText = (i: number, version = 1) => `Note ${i} (version ${version}): bees number ${i * 7} visit flower ${i % 13} for nectar.`;
  const hashes = async (collectionPath = ''): Promise<Map<string, HashRow>> => {
    const response = await client.get(`${collectionPath}/document-hashes`);
    assert.equal(response.status, 200, response.text);
    const body = JSON.parse(response.text) as { documents: HashRow[]; nextCursor: string | null };
    assert.equal(body.nextCursor, null);
    return new Map(body.documents.map((row) => [row.id, row]));
  };

  before(async () => {
    stack = await startServiceStack({ env: { API_KEYS: KEY, RATE_LIMIT_MAX: '100000', INGEST_CONCURRENCY: '4' }, dataDirPrefix: 'colmeia-sync-e2e-' });
    web = stack.web;
    limitedWeb = await stack.startWeb({ RATE_LIMIT_MAX: '50', RATE_LIMIT_WINDOW_MS: '60000' });
    client = new ApiClient(() => web.url, KEY);
  });

  after(async () => {
    await stack?.close();
  });

  it('mirrors a folder of 300 files: added, then changed, pruned and added, then nothing sent when nothing changed', async () => {
    const dir = tempDataDir('colmeia-sync-folder-');
    const fileOf = (i: number) => path.join(dir, i % 3 === 0 ? `topic-${i % 5}` : '', `note-${String(i).padStart(3, '0')}.txt`);
    const idOf = (i: number) => path.relative(dir, fileOf(i)).split(path.sep).join(':');
    for (let i = 0; i < FILES; i++) {
      mkdirSync(path.dirname(fileOf(i)), { recursive: true });
      writeFileSync(fileOf(i), noteText(i));
    }
    assert.equal((await client.post('/documents', { id: 'stray', text: 'a document with no file in the folder' })).status, 202);

    const first = await script('ingest', ['--sync', dir], web.url);
    assert.equal(first.code, 0, explain(first));
    assert.match(first.stdout, new RegExp(`^summary: ${FILES} added, 0 changed, 0 unchanged, 1 removed, 0 failed \\(of ${FILES} files\\)$`, 'm'));
    assert.match(first.stdout, /^stray: removing \(job remove:/m);
    assert.match(first.stderr, /… \d+ of 301 uploads and removals done/, 'progress while waiting');
    const synced = await hashes();
    assert.equal(synced.size, FILES);
    assert.deepEqual(synced.get(idOf(3)), { ...synced.get(idOf(3)), id: 'topic-3:note-003.txt', revision: 1, status: 'ready' });

    for (let i = 0; i < 10; i++) writeFileSync(fileOf(i), noteText(i, 2)); // changed
    for (let i = 10; i < 30; i++) rmSync(fileOf(i)); // gone
    for (let i = FILES; i < FILES + 5; i++) writeFileSync(fileOf(i), noteText(i)); // new
    const second = await script('ingest', ['--sync', dir], web.url);
    assert.equal(second.code, 0, explain(second));
    const remaining = FILES - 20 + 5;
    assert.match(second.stdout, new RegExp(`^summary: 5 added, 10 changed, ${FILES - 30} unchanged, 20 removed, 0 failed \\(of ${remaining} files\\)$`, 'm'));
    const after = await hashes();
    assert.equal(after.size, remaining);
    for (let i = 0; i < 10; i++) assert.equal(after.get(idOf(i))?.revision, 2, `${idOf(i)} was sent again`);
    for (let i = 10; i < 30; i++) assert.equal(after.has(idOf(i)), false, `${idOf(i)} was removed`);
    for (let i = 30; i < FILES; i++) assert.equal(after.get(idOf(i))?.revision, 1, `${idOf(i)} was not sent again`);
    for (let i = FILES; i < FILES + 5; i++) assert.equal(after.get(idOf(i))?.status, 'ready');

    const third = await script('ingest', ['--sync', dir], web.url);
    assert.equal(third.code, 0, explain(third));
    assert.match(third.stdout, new RegExp(`^summary: 0 added, 0 changed, ${remaining} unchanged, 0 removed, 0 failed \\(of ${remaining} files\\)$`, 'm'));
    assert.doesNotMatch(third.stdout, /uploaded/);
    assert.deepEqual(await hashes(), after, 'no revision moved');

    const count = await script('docs', ['count'], web.url);
    assert.equal(count.code, 0, explain(count));
    assert.equal(count.stdout, `${remaining}\n`);
    const listed = await script('docs', ['list', '-s', 'ready'], web.url);
    assert.equal(listed.stdout.trim().split('\n').length, remaining);
    assert.match(listed.stdout, /^topic-0:note-000\.txt {2}ready {2}revision 2 {2}1 chunk {2}note-000$/m);
    const shown = await script('docs', ['show', 'topic-0:note-000.txt'], web.url);
    assert.equal((JSON.parse(shown.stdout) as { revision: number }).revision, 2);
  });

  it('completes a sync through a limit of 50 requests a minute, waiting out each 429', async () => {
    assert.equal((await client.post('/collections', { id: 'limited' })).status, 201);
    const dir = tempDataDir('colmeia-sync-limited-');
    const files = 60; // more uploads than the limit allows in one window
    for (let i = 0; i < files; i++) writeFileSync(path.join(dir, `limited-${i}.md`), `# Limited ${i}\n\n${noteText(i)}`);
    const result = await script('ingest', ['--sync', '-c', 'limited', dir], limitedWeb.url);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stderr, /HTTP 429 rate limited; retrying in \d+ s \(attempt 2 of 8\)/);
    assert.match(result.stdout, new RegExp(`^summary: ${files} added, 0 changed, 0 unchanged, 0 removed, 0 failed \\(of ${files} files\\)$`, 'm'));
    const stored = await hashes('/collections/limited');
    assert.equal(stored.size, files);
    assert.ok([...stored.values()].every((row) => row.status === 'ready' && row.revision === 1));
  });
});
