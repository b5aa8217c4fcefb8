/**
 * The chat page at / in headless Chromium (Debian's `chromium`, driven by playwright-core) against
 * the built web and worker processes (builtin embedder, extractive answerer): the key is entered,
 * a .txt is uploaded through the page and listed as ready, a question about a word in it streams
 * its tokens and then shows the final answer with its sources. Then the stream breaks twice: the web
 * process is replaced by a new one on the same port (the page shows it is reconnecting and resumes
 * with Last-Event-ID), and event-stream requests are made to fail (the page falls back to polling);
 * both times the next answer still appears. With a second collection, the page's picker switches
 * what it shows and where it sends: an upload, a question and its event stream go to the collection
 * picked, the answer quotes that collection's documents only, and the session list is the one the
 * service keeps for each collection (a session deleted from the page is gone from the service). A screenshot goes to test-artifacts/chat-page.png (and,
 * with UPDATE_SCREENSHOT=1, to docs/chat-page.png, the README's). Skipped, saying why, only when chromium is not installed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../support/free-port.js';
import { ARTIFACTS_DIR, repoRoot, startWeb, tempDataDir, type Env, type WebProcess } from '../support/service-processes.js';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const KEY = `page-e2e-${randomUUID()}`;
const UI_TIMEOUT_MS = 20_000;
const skip = existsSync(CHROMIUM)
  ? false
  : `chromium not found at ${CHROMIUM}: install it (Debian: apt-get install chromium; .ci/run does) to run the browser test`;

/** Installed before the page's scripts: records every data-state the answers and the connection badge take, and the upload's status lines. */
const RECORDER = `
  window.__states = [];
  new MutationObserver((records) => {
    for (const record of records) {
      const nodes = record.type === 'attributes' ? [record.target] : [...record.addedNodes];
      if (record.type === 'childList' && record.target.id === 'upload-status') window.__states.push('upload=' + record.target.textContent);
      for (const node of nodes) {
        if (!(node instanceof HTMLElement) || node.dataset.state === undefined) continue;
        const who = node.id === 'connection' ? 'connection' : 'answer:' + node.dataset.replyTo;
        window.__states.push(who + '=' + node.dataset.state);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
`;

describe('the chat page in headless Chromium', { skip }, () => {
  let stack: ServiceStack | undefined;
  let env: Env;
  let web: WebProcess;
  let browser: Browser;
  let page: Page;
  const retiredWebs: WebProcess[] = [];

  const states = async (): Promise<string[]> => page.evaluate('window.__states');
  const connection = (state: string) => page.waitForSelector(`#connection[data-state="${state}"]`, { timeout: UI_TIMEOUT_MS });
  /** Asks through the page; resolves with the answer bubble once it is final. */
  const ask = async (question: string) => {
    const before = await page.locator('.msg.assistant').count();
    await page.fill('#question', question);
    await page.press('#question', 'Enter');
    const bubble = page.locator('.msg.assistant').nth(before);
    await bubble.and(page.locator('[data-state="done"]')).waitFor({ timeout: UI_TIMEOUT_MS });
    return bubble;
  };
  /** The service's answer to a request made with the key, outside the page. */
  const callApi = async (method: string, pathname: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${web.url}${pathname}`, {
      method,
      headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    assert.ok(response.ok, `${method} ${pathname} answered ${response.status}`);
    return response.json();
  };
  const sessionIdsOf = async (collection: string): Promise<string[]> => {
    const page = (await callApi('GET', `/collections/${collection}/chat/sessions`)) as { sessions: Array<{ id: string }> };
    return page.sessions.map((session) => session.id);
  };
  const listedSessionIds = async (): Promise<string[]> =>
    page.evaluate("[...document.querySelectorAll('#session-select option')].map((option) => option.value).filter(Boolean)");
  /** Picks a collection in the page; resolves once its documents, sessions and session are shown. */
  const pickCollection = async (collection: string) => {
    await page.selectOption('#collection-select', collection);
    await page.waitForSelector(`#collection-select[data-shown="${collection}"]`, { state: 'attached', timeout: UI_TIMEOUT_MS });
  };
  const replaceWeb = async () => {
    await web.stop('SIGTERM'); // ends every event stream: the page's EventSource starts reconnecting
    retiredWebs.push(web);
    web = await startWeb(env);
    await web.waitForHttp(web.url);
  };

  before(async () => {
    stack = await startServiceStack({
      env: {
        API_KEYS: KEY,
        RATE_LIMIT_MAX: '100000',
        PORT: String(await freePort()), // fixed, so a second web process can take over the page's origin
        SSE_RETRY_MS: '300',
        SSE_HEARTBEAT_MS: '1000',
      },
      dataDirPrefix: 'colmeia-page-e2e-',
    });
    web = stack.web;
    env = stack.envFor();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }); // a new, empty profile each launch
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript(RECORDER);
  });

  after(async () => {
    if (page) await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'chat-page-last.png') }).catch(() => undefined);
    await browser?.close();
    await Promise.allSettled([web?.close(), ...retiredWebs.map((p) => p.close())]);
    await stack?.close();
  });

  it('uploads a text file, asks about it, and shows the streamed answer with its sources', async () => {
    await page.goto(`${web.url}/`);
    await page.fill('#api-key', KEY);
    await page.click('#key-form button[type="submit"]');
    const file = path.join(tempDataDir('colmeia-page-upload-'), 'meadow-notes.txt');
    writeFileSync(
      file,
      'The zorblax flower grows only in high mountain meadows. It blooms in July, when the bees of the valley visit it for its blue nectar.\n',
    );
    await page.setInputFiles('#upload-file', file);
    await page.click('#upload-form button[type="submit"]');
    await page.locator('#document-list li[data-status="ready"]', { hasText: 'meadow-notes' }).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.match((await page.textContent('#upload-status')) ?? '', /meadow-notes\.txt is ready/);
    assert.ok(
      (await states()).some((entry) => /^upload=uploading meadow-notes\.txt: \d+%$/.test(entry)),
      'the upload showed its progress',
    );
    assert.match((await page.textContent('#document-list')) ?? '', /meadow-notes\.txt · 1 chunk/);

    await page.click('#new-session');
    await connection('live');
    const answer = await ask('When does the zorblax flower bloom?');
    assert.match((await answer.locator('.content').textContent()) ?? '', /zorblax flower .*blooms in July/s);
    assert.match((await answer.locator('.sources').textContent()) ?? '', /meadow-notes/);
    assert.ok(Number(await answer.getAttribute('data-deltas')) > 0, 'tokens arrived as delta events');
    const replyTo = await answer.getAttribute('data-reply-to');
    const seen = (await states()).filter((entry) => entry.startsWith(`answer:${replyTo}=`));
    assert.ok(
      seen.indexOf(`answer:${replyTo}=streaming`) >= 0 && seen.indexOf(`answer:${replyTo}=streaming`) < seen.indexOf(`answer:${replyTo}=done`),
      `streamed, then final: ${seen.join(', ')}`,
    );
  });

  it('shows that it is reconnecting when the web process is replaced, and streams the next answer', async () => {
    const lastAnswerId = await page.locator('.msg.assistant').last().getAttribute('data-id');
    const resumedFrom: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/events?')) void request.allHeaders().then((headers) => resumedFrom.push(headers['last-event-id'] ?? ''));
    });
    await replaceWeb();
    await page.waitForFunction("window.__states.includes('connection=reconnecting')", undefined, { timeout: UI_TIMEOUT_MS });
    await connection('live');
    assert.ok(resumedFrom.includes(lastAnswerId ?? 'none'), `the stream resumed with Last-Event-ID ${lastAnswerId}: ${resumedFrom.join(', ')}`);
    const answer = await ask('Which bees visit the zorblax?');
    assert.ok(Number(await answer.getAttribute('data-deltas')) > 0, 'the answer came over the resumed stream');
    assert.match((await answer.locator('.sources').textContent()) ?? '', /meadow-notes/);
    // docs/chat-page.png is the README's picture: rewritten only on request, so a test run leaves the tree clean
    const targets = [
      path.join(ARTIFACTS_DIR, 'chat-page.png'),
      ...(process.env['UPDATE_SCREENSHOT'] === '1' ? [path.join(repoRoot, 'docs', 'chat-page.png')] : []),
    ];
    for (const target of targets) {
      mkdirSync(path.dirname(target), { recursive: true });
      await page.screenshot({ path: target, fullPage: true });
    }
  });

  it("sends uploads, questions and the stream to the collection picked, and lists that collection's own sessions", async () => {
    const defaultSessions = await sessionIdsOf('default');
    assert.equal(defaultSessions.length, 1, 'the session the page created is kept by the service');
    await callApi('POST', '/collections', { id: 'orchard', title: 'Orchard notes' });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`));
    await page.reload(); // the key stays for the tab; the sessions come from the service, not from the browser's storage
    await page.locator('#collection-select option[value="orchard"]').waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
    await connection('live');
    assert.deepEqual(await listedSessionIds(), defaultSessions);
    assert.equal(await page.evaluate("localStorage.getItem('colmeia.sessions')"), null, 'no session list in the browser');

    await pickCollection('orchard');
    assert.deepEqual(await listedSessionIds(), [], 'a new collection has no session yet');
    assert.match((await page.textContent('#document-list')) ?? '', /No documents yet/);
    const file = path.join(tempDataDir('colmeia-page-upload-'), 'orchard-notes.txt');
    writeFileSync(file, 'The quillberry tree grows in the old orchard. Its fruit ripens in October and tastes of lemon and honey.\n');
    await page.setInputFiles('#upload-file', file);
    await page.click('#upload-form button[type="submit"]');
    await page.locator('#document-list li[data-status="ready"]', { hasText: 'orchard-notes' }).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.doesNotMatch((await page.textContent('#document-list')) ?? '', /meadow-notes/);

    await page.click('#new-session');
    await connection('live');
    const answer = await ask('When does the quillberry fruit ripen?');
    assert.match((await answer.locator('.content').textContent()) ?? '', /ripens in October/);
    assert.ok(Number(await answer.getAttribute('data-deltas')) > 0, "the answer streamed from the collection's event stream");
    assert.match((await answer.locator('.sources').textContent()) ?? '', /orchard-notes/);
    const elsewhere = await ask('When does the zorblax flower bloom?'); // stored in the default collection only
    assert.doesNotMatch((await elsewhere.locator('.content').textContent()) ?? '', /July/);
    assert.doesNotMatch((await elsewhere.textContent()) ?? '', /meadow-notes/);
    const orchardSessions = await sessionIdsOf('orchard');
    assert.equal(orchardSessions.length, 1);
    const [orchardSession] = orchardSessions;
    for (const sent of ['POST /collections/orchard/documents', `POST /collections/orchard/chat/sessions/${orchardSession}/messages`]) {
      assert.ok(requests.includes(sent), `${sent} in ${requests.join(', ')}`);
    }
    assert.ok(requests.includes(`GET /collections/orchard/chat/sessions/${orchardSession}/events`), "the stream is the collection's");
    assert.ok(!requests.some((request) => /^POST \/(chat|documents)/.test(request)), 'nothing went to the un-prefixed routes');

    await pickCollection('default');
    assert.deepEqual(await listedSessionIds(), defaultSessions);
    await connection('live');
    await pickCollection('orchard');
    assert.deepEqual(await listedSessionIds(), orchardSessions);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#delete-session');
    await page.locator('#session-select option[value=""]').waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
    assert.deepEqual(await sessionIdsOf('orchard'), [], 'the session is deleted in the service');
    assert.equal(await page.locator('.msg').count(), 0);
    await pickCollection('default'); // the next test asks in the default collection's session
    await connection('live');
  });

  it('falls back to polling when the event stream keeps failing, and still gets the answer', async () => {
    await page.route('**/chat/sessions/*/events?**', (route) => route.abort('connectionreset'));
    await replaceWeb(); // the open stream ends; every reconnect now fails
    await connection('polling');
    assert.match((await page.textContent('#connection-text')) ?? '', /polling every 2 s/);
    const answer = await ask('What colour is the nectar of the zorblax?');
    assert.match((await answer.locator('.content').textContent()) ?? '', /blue nectar/);
    assert.equal(await answer.getAttribute('data-deltas'), '0', 'no stream: the answer came by polling');
    assert.match((await answer.locator('.sources').textContent()) ?? '', /meadow-notes/);
  });
});
