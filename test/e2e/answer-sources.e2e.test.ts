/**
 * Answers' sources and cancels against the built web and worker processes, with the Ollama test
 * server as the chat model: the quoted text of each source stays readable, with its revision and
 * span, after its document is replaced and after it is removed; an answer citing a source it was not
 * given is flagged in its metadata and in the sources route; ask.sh cancels an answer on SIGINT and
 * with --cancel, and the stored message says cancelled.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js';
import { mergeEnv, repoRoot, run, type ServiceProcess, type WebProcess } from '../support/service-processes.js';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient, waitForSettled } from './jobs-harness.js';

const KEY = `sources-e2e-${randomUUID()}`;
const NECTAR = 'Field notes.\n\nHoney bees store nectar in the wax comb of the hive, and fan it with their wings until it thickens into honey.';

interface Message {
  id: number;
  role: string;
  replyTo: number | null;
  metadata: Record<string, unknown>;
}
interface Source {
  n: number;
  documentId: string;
  revision: number | null;
  currentRevision: number | null;
  ordinal: number | null;
  span: { start: number; end: number } | null;
  quote: string;
  quoteChars: number;
}
interface Sources {
  messageId: number;
  citations: { valid: number[]; invalid: number[] } | null;
  sources: Source[];
}

describe('answer sources, citation checks and cancels against real processes', () => {
  let stack: ServiceStack | undefined;
  let ollama: OllamaTestServer;
  let web: WebProcess;
  let worker: ServiceProcess;
  let client: ApiClient;

  const ingest = async (id: string, text: string) => {
    assert.equal((await client.post('/documents', { id, title: id, text })).status, 202);
    await waitForSettled(client, [id], 15_000);
  };
  const answerTo = async (sessionId: string, questionId: number): Promise<Message> => {
    let reply: Message | undefined;
    await waitFor(
      async () => {
        const page = (await client.get(`/chat/sessions/${sessionId}/messages?after=${questionId}`)).body as { messages: Message[] };
        reply = page.messages.find((m) => m.replyTo === questionId);
        return reply !== undefined;
      },
      { timeoutMs: 20_000, what: `the answer to ${questionId}` },
    );
    return reply as Message;
  };
  const ask = async (content: string): Promise<{ sessionId: string; questionId: number }> => {
    const sessionId = `s-${randomUUID()}`;
    assert.equal((await client.post('/chat/sessions', { id: sessionId })).status, 201);
    const posted = await client.post(`/chat/sessions/${sessionId}/messages`, { content, k: 3 });
    assert.equal(posted.status, 202, posted.text);
    return { sessionId, questionId: (posted.body as { message: { id: number } }).message.id };
  };
  const sourcesOf = async (messageId: number): Promise<Sources> => {
    const response = await client.get(`/chat/messages/${messageId}/sources`);
    assert.equal(response.status, 200, response.text);
    return response.body as Sources;
  };

  before(async () => {
    ollama = await startOllamaTestServer({ reply: 'Bees keep nectar in the comb [1].' });
    stack = await startServiceStack({
      env: {
        API_KEYS: KEY,
        ANSWERER: 'ollama',
        OLLAMA_HOST: ollama.url,
        MAX_SOURCE_QUOTE_CHARS: '60',
        ANSWER_PROGRESS_INTERVAL_MS: '200',
      },
      dataDirPrefix: 'colmeia-sources-e2e-',
    });
    ({ web, worker } = stack);
    client = new ApiClient(() => web.url, KEY);
  });

  after(async () => {
    await stack?.close();
    await ollama?.close();
  });

  it("keeps each source's quoted text, revision and span after the document is replaced and after it is removed", async () => {
    await ingest('nectar', NECTAR);
    const { sessionId, questionId } = await ask('Where do honey bees store nectar?');
    const answer = await answerTo(sessionId, questionId);
    assert.equal(answer.metadata['type'], 'analysis_result', JSON.stringify(answer.metadata));
    assert.deepEqual(answer.metadata['citations'], { valid: [1], invalid: [] });

    const before = await sourcesOf(answer.id);
    assert.deepEqual(before.citations, { valid: [1], invalid: [] });
    const source = before.sources[0];
    assert.ok(source, 'one source at least');
    assert.equal(source.n, 1);
    assert.equal(source.documentId, 'nectar');
    assert.equal(source.revision, 1);
    assert.equal(source.currentRevision, 1);
    assert.equal(source.ordinal, 0);
    assert.deepEqual(source.span, { start: 0, end: NECTAR.length }, 'the whole text is one chunk');
    assert.equal(source.quoteChars, NECTAR.length);
    assert.equal(source.quote, NECTAR.slice(0, 60), 'bounded by MAX_SOURCE_QUOTE_CHARS');

    await ingest('nectar', 'Wasps build paper nests from chewed wood.');
    const replaced = await sourcesOf(answer.id);
    assert.deepEqual(
      replaced.sources.map((s) => ({ ...s, currentRevision: 1 })),
      before.sources,
      'the same quote, revision and span',
    );
    assert.equal(replaced.sources[0]?.currentRevision, 2);

    assert.equal((await client.request('DELETE', '/documents/nectar')).status, 202);
    await waitFor(async () => (await client.get('/documents/nectar')).status === 404, { timeoutMs: 15_000, what: 'nectar to be removed' });
    const removed = await sourcesOf(answer.id);
    assert.equal(removed.sources[0]?.quote, NECTAR.slice(0, 60));
    assert.equal(removed.sources[0]?.currentRevision, null, 'the document is gone');

    const question = await client.get(`/chat/messages/${questionId}/sources`);
    assert.equal(question.status, 404);
    assert.match(question.text, /is a question, not an answer/);
    assert.equal((await client.get(`/collections/default/chat/messages/${answer.id}/sources`)).status, 200);
  });

  it('flags an answer that cites a source it was not given, in its metadata and in its sources', async () => {
    await ingest('wax', 'Worker bees secrete wax from glands under their abdomen to build the comb.');
    await ollama.setBehaviour({ reply: 'Workers make wax [1], and the moon is made of it [4].' });
    const { sessionId, questionId } = await ask('How do bees make wax?');
    const answer = await answerTo(sessionId, questionId);
    const given = (answer.metadata['sources'] as unknown[]).length;
    assert.ok(given < 4, `fewer than 4 sources were given (${given})`);
    assert.deepEqual(answer.metadata['citations'], { valid: [1], invalid: [4] });
    assert.deepEqual((await sourcesOf(answer.id)).citations, { valid: [1], invalid: [4] });
    await worker.waitForLine(/answer cites sources it was not given/, 5_000);
  });

  it('ask.sh cancels the answer on Ctrl-C (SIGINT) and with --cancel', async () => {
    await ollama.setBehaviour({ reply: 'slow '.repeat(200), tokenDelayMs: 100 });
    const child = spawn('bash', ['scripts/ask.sh', 'How do bees make wax?'], {
      cwd: repoRoot,
      env: mergeEnv({ API_URL: web.url, API_KEY: KEY }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await waitFor(async () => stdout.includes('slow'), { timeoutMs: 20_000, what: 'the answer to stream' });
    const questionId = Number(/question (\d+),/.exec(stderr)?.[1]);
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, new RegExp(`answer:${questionId}: (cancelling|cancelled)`));
    const session = /session (\S+)/.exec(stderr)?.[1] ?? '';
    const reply = await answerTo(session, questionId);
    assert.deepEqual((reply.metadata['error'] as { code: string }).code, 'cancelled');
    assert.equal(((await client.get(`/jobs/answer/answer:${questionId}`)).body as { status: string }).status, 'cancelled');

    const { sessionId, questionId: second } = await ask('And where is the wax used?');
    await waitFor(async () => ((await client.get(`/jobs/answer/answer:${second}`)).body as { status?: string }).status === 'active', {
      timeoutMs: 15_000,
      what: 'the second answer to start',
    });
    const cancelled = await run('bash', ['scripts/ask.sh', '--cancel', String(second)], { API_URL: web.url, API_KEY: KEY });
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, new RegExp(`^answer:${second}: (cancelling|cancelled)$`, 'm'));
    assert.equal(((await answerTo(sessionId, second)).metadata['error'] as { code: string }).code, 'cancelled');
    await ollama.setBehaviour({ tokenDelayMs: 0 });
  });
});
