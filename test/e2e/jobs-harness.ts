/**
 * Shared by the job-reliability end-to-end tests (crash recovery, poison job, Redis outage,
 * observability): an HTTP client for the web process, polling helpers
 * that wait on document and job states with bounded timeouts, a worker supervisor that restarts a
 * worker that dies (as a platform restarts a crashed dyno), read-only SQL checks on the SQLite file,
 * and the `figure:` diagnostic lines each scenario reports (the Jepsen-style counts: lost, duplicated,
 * time to recover).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import knex, { type Knex } from 'knex';
import { sqliteFile } from '../../shared/src/db/connection.js';
import { startWorker, type Env, type ServiceProcess } from '../support/service-processes.js';
import { waitFor } from '../support/wait-for.js';

export interface Reply {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
  ms: number; // wall time of the request
}

export interface DocumentView {
  id: string;
  status: 'pending' | 'indexing' | 'ready' | 'failed';
  error: string | null;
  chunkCount: number;
  revision: number;
  seq: number | null;
}

export interface JobView {
  id: string;
  queue: string;
  status: string;
  progress: number;
  progressDetail?: { done: number; total: number };
  attempts: number;
  result?: unknown;
  error?: { code: string; message: string };
}

export class ApiClient {
  constructor(
    private readonly base: () => string,
    private readonly key: string,
  ) {}

  /** A body is sent as JSON, except FormData, which goes as multipart/form-data (file uploads). */
  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const started = performance.now();
    const isJson = body !== undefined && !(body instanceof FormData);
    const response = await fetch(`${this.base()}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.key}`, ...(isJson ? { 'Content-Type': 'application/json' } : {}), ...headers },
      ...(body === undefined ? {} : { body: body instanceof FormData ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    const ms = performance.now() - started;
    let parsed: unknown = null;
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text) as unknown;
    return { status: response.status, body: parsed, text, headers: response.headers, ms };
  }

  get(path: string): Promise<Reply> {
    return this.request('GET', path);
  }

  post(path: string, body?: unknown): Promise<Reply> {
    return this.request('POST', path, body ?? {});
  }

  async postDocument(id: string, text: string): Promise<{ id: string; job: { queue: string; id: string } }> {
    const reply = await this.post('/documents', { id, text });
    assert.equal(reply.status, 202, `POST /documents ${id}: ${reply.text}`);
    return { id, job: (reply.body as { job: { queue: string; id: string } }).job };
  }

  async document(id: string): Promise<DocumentView | undefined> {
    const reply = await this.get(`/documents/${encodeURIComponent(id)}`);
    if (reply.status === 404) return undefined;
    assert.equal(reply.status, 200, `GET /documents/${id}: ${reply.text}`);
    return reply.body as DocumentView;
  }

  async job(queue: string, id: string): Promise<JobView> {
    const reply = await this.get(`/jobs/${queue}/${encodeURIComponent(id)}`);
    assert.equal(reply.status, 200, `GET /jobs/${queue}/${id}: ${reply.text}`);
    return reply.body as JobView;
  }
}

/** POST /documents until 202 (503 while the web or its dependencies come back), within timeoutMs. */
export async function retryUntilAccepted(client: ApiClient, id: string, timeoutMs: number): Promise<Reply> {
  let reply: Reply | undefined;
  await waitFor(
    async () => {
      reply = await client.post('/documents', { id, text: documentText(id, 2_000) });
      if (reply.status !== 202 && reply.status !== 503) assert.fail(`unexpected ${reply.status}: ${reply.text}`);
      return reply.status === 202;
    },
    { timeoutMs, intervalMs: 50, what: 'the web to accept documents again' },
  );
  assert.ok(reply);
  return reply;
}

/** Polls until every document is ready or failed; returns their final views. */
export async function waitForSettled(client: ApiClient, ids: readonly string[], timeoutMs: number, intervalMs = 50): Promise<Map<string, DocumentView>> {
  const settled = new Map<string, DocumentView>();
  await waitFor(
    async () => {
      for (const id of ids) {
        if (settled.has(id)) continue;
        const doc = await client.document(id);
        if (doc && (doc.status === 'ready' || doc.status === 'failed')) settled.set(id, doc);
      }
      return settled.size === ids.length;
    },
    { timeoutMs, intervalMs, what: `documents to be ready or failed (${settled.size}/${ids.length} so far)` },
  );
  return settled;
}

/** Words that chunk into predictable pieces; `seed` makes documents differ. */
export function documentText(seed: string, chars: number): string {
  const words: string[] = [];
  let length = 0;
  for (let i = 0; length < chars; i++) {
    const word = `${seed}w${i % 997} lorem${i % 13} ipsum${i % 7}`;
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ');
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** One `figure:` line, e.g. `figure: kill9_to_ready_ms p50=1200 p95=1900 n=5`. */
export function reportFigure(t: TestContext, name: string, values: Record<string, number | string>): void {
  const fields = Object.entries(values).map(([key, value]) => `${key}=${typeof value === 'number' ? round(value) : value}`);
  t.diagnostic(`figure: ${name} ${fields.join(' ')}`);
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** SQL reads on the SQLite file the processes share (WAL: reads never block their writes). */
export function openSqlite(dataDir: string): Knex {
  return knex({ client: 'better-sqlite3', connection: { filename: sqliteFile(dataDir) }, useNullAsDefault: true });
}

/** Rows per (document, ordinal) above one, over all chunks: must be 0. */
export async function duplicateChunkRows(db: Knex): Promise<number> {
  const rows: Array<{ n: number }> = await db('chunks')
    .select('document_id', 'ordinal')
    .count({ n: '*' })
    .groupBy('document_id', 'ordinal')
    .havingRaw('count(*) > 1');
  return rows.reduce((sum, row) => sum + Number(row.n) - 1, 0);
}

export async function chunkCount(db: Knex, documentId?: string): Promise<number> {
  const query = db('chunks').count({ n: '*' });
  if (documentId !== undefined) query.where({ document_id: documentId });
  const [row] = (await query) as Array<{ n: number }>;
  return Number(row?.n ?? 0);
}

/**
 * A worker that is started again whenever it exits without being asked to (a crash, a kill -9), like
 * a platform restarting a crashed dyno. Counts the unplanned exits and their signals.
 */
export class SupervisedWorker {
  readonly crashes: Array<{ signal: NodeJS.Signals | null; code: number | null; at: number }> = [];
  readonly history: ServiceProcess[] = []; // every process it started, the crashed ones included
  private process: ServiceProcess | undefined;
  private isStopping = false;
  private restarting: Promise<void> = Promise.resolve();
  private generation = 0;

  constructor(
    readonly name: string,
    private env: Env,
  ) {}

  get current(): ServiceProcess {
    if (!this.process) throw new Error(`${this.name} is not running`);
    return this.process;
  }

  /** How many times it was started. */
  get starts(): number {
    return this.generation;
  }

  async start(env: Env = this.env): Promise<ServiceProcess> {
    this.env = env;
    this.isStopping = false;
    const proc = await startWorker(env);
    this.generation += 1;
    this.process = proc;
    this.history.push(proc);
    proc.child.once('exit', (code, signal) => {
      if (this.isStopping || this.process !== proc) return;
      this.crashes.push({ code, signal, at: Date.now() });
      this.restarting = this.start(this.env).then(() => undefined);
    });
    await proc.waitForLine(/worker ready/, 20_000);
    return proc;
  }

  /** Waits for a restart in progress, then for the current process to be ready. */
  async ready(): Promise<ServiceProcess> {
    await this.restarting;
    await this.current.waitForLine(/worker ready/, 20_000);
    return this.current;
  }

  /** SIGKILL without restarting: the supervisor treats it as planned. */
  async killPlanned(): Promise<void> {
    this.isStopping = true;
    await this.process?.kill();
  }

  async stop(): Promise<void> {
    this.isStopping = true;
    await this.restarting.catch(() => undefined);
    if (this.process && this.process.exitStatus === undefined) await this.process.stop('SIGTERM');
  }
}
