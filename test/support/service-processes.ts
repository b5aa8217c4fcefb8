/**
 * The built web and worker as real child processes, for end-to-end tests: start them
 * with an explicit environment, read their log lines, wait for a line or for HTTP, stop them with a
 * signal and see how they exited. Each runs with its Procfile line's node flags, as deployed. Every child this module (or redis-server.ts) starts is tracked
 * and SIGKILLed when the test process exits, so a failed test leaves no stray process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { readProcfileCommand } from './procfile-command.js';
import { waitFor } from './wait-for.js';

/** The repository root; compiled, this file is dist/test/support/service-processes.js. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const WEB_ENTRY = 'dist/api/src/main.js';
export const WORKER_ENTRY = 'dist/worker/src/main.js';
export const ARTIFACTS_DIR = path.join(repoRoot, 'test-artifacts');
const PROCESS_TYPES: Record<string, string> = { [WEB_ENTRY]: 'web', [WORKER_ENTRY]: 'worker' }; // their Procfile lines

/** Environment overrides: a value replaces the base one, `undefined` removes it. */
export type Env = Record<string, string | undefined>;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number; // from the stop()/kill() call to the exit; 0 when it had already exited
}

export interface StartOptions {
  logToFile?: boolean; // also write the output to test-artifacts/<name>-<time>-<pid>.log; default: when CI is set
}

export interface RunOptions {
  timeoutMs?: number; // the process group is SIGKILLed and run() rejects after this (default 60 s)
  input?: string; // written to stdin; stdin is closed (no terminal) either way
  cwd?: string; // default: the repository root
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const DEFAULT_WAIT_MS = 15_000;
const DEFAULT_STOP_TIMEOUT_MS = 35_000; // the contract is "exit within 30 s of SIGTERM"
const TAIL_LINES = 40;

/** A running (or exited) service process and everything it printed, one entry per line. */
export class ServiceProcess {
  readonly lines: string[] = [];
  readonly logFile: string | undefined;
  private exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  private isClosed = false;
  private readonly closed: Promise<void>;
  private readonly watchers = new Set<{ onLine(line: string): void; onClose(): void }>();
  private readonly log: WriteStream | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    options: StartOptions,
  ) {
    if (options.logToFile ?? isCi()) {
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      this.logFile = path.join(ARTIFACTS_DIR, `${name}-${stamp}-${child.pid ?? 'nopid'}.log`);
      this.log = createWriteStream(this.logFile, { flags: 'a' });
    }
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.addLine(line));
    }
    this.letGo();
    child.once('exit', (code, signal) => {
      this.exit = { code, signal, at: Date.now() };
    });
    this.closed = new Promise((resolve) => {
      child.once('close', () => {
        this.isClosed = true;
        this.log?.end();
        for (const watcher of [...this.watchers]) watcher.onClose();
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Exit code and signal once the process has exited (and its output is read), else undefined. */
  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.isClosed && this.exit ? { code: this.exit.code, signal: this.exit.signal } : undefined;
  }

  /** The last lines of output, for assertion messages. */
  tail(count = TAIL_LINES): string {
    return this.lines.slice(-count).join('\n');
  }

  /** The first line at index >= fromIndex matching pattern; rejects on timeout or when the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs = DEFAULT_WAIT_MS, fromIndex = 0): Promise<string> {
    const regex = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    const earlier = this.lines.slice(fromIndex).find((line) => regex.test(line));
    if (earlier !== undefined) return Promise.resolve(earlier);
    if (this.isClosed) return Promise.reject(this.failure(`exited (${this.describeExit()}) without printing ${regex}`));
    return new Promise((resolve, reject) => {
      const watcher = {
        onLine: (line: string) => {
          if (!regex.test(line)) return;
          done();
          resolve(line);
        },
        onClose: () => {
          done();
          reject(this.failure(`exited (${this.describeExit()}) without printing ${regex}`));
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure(`printed no line matching ${regex} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
      };
      this.watchers.add(watcher);
    });
  }

  /** Polls until url answers 2xx; a bare origin (http://host:port) means its /health. Fails fast if the process exits. */
  async waitForHttp(url: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    const target = new URL(url);
    if (target.pathname === '/') target.pathname = '/health';
    try {
      await waitFor(async () => this.exit !== undefined || (await answersOk(target)), {
        timeoutMs,
        intervalMs: 25,
        what: `${this.name} to answer ${target.href}`,
      });
    } catch (err) {
      throw this.failure(`did not answer ${target.href} within ${timeoutMs} ms`, err);
    }
    if (this.exit !== undefined) {
      await this.closed;
      throw this.failure(`exited (${this.describeExit()}) before answering ${target.href}`);
    }
  }

  /** Sends signal and waits for the exit; SIGKILLs and rejects if it takes longer than timeoutMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<ExitInfo> {
    if (this.exit !== undefined) {
      await this.closed;
      return { ...this.exitStatusOrThrow(), durationMs: 0 };
    }
    const sentAt = Date.now();
    let wasForced = false;
    this.keepAlive(); // the test process must live until the exit is seen, even after the SIGKILL below
    this.child.kill(signal);
    const timer = setTimeout(() => {
      wasForced = true;
      this.child.kill('SIGKILL');
    }, timeoutMs);
    await this.closed;
    clearTimeout(timer);
    if (wasForced) throw this.failure(`did not exit within ${timeoutMs} ms of ${signal}, so it was SIGKILLed`);
    return { ...this.exitStatusOrThrow(), durationMs: this.exitedAt() - sentAt };
  }

  /** SIGKILL (a crash: no shutdown code runs) and wait for the exit. */
  kill(): Promise<ExitInfo> {
    return this.stop('SIGKILL');
  }

  /** For afterEach: SIGTERM if still running, and wait. */
  async close(): Promise<void> {
    await this.stop('SIGTERM');
  }

  /** A forgotten process must not keep the test file alive (the exit hook kills it): unref it and its pipes. */
  private letGo(): void {
    this.child.unref();
    for (const stream of [this.child.stdout, this.child.stderr]) if (stream instanceof Socket) stream.unref();
  }

  private keepAlive(): void {
    this.child.ref();
    for (const stream of [this.child.stdout, this.child.stderr]) if (stream instanceof Socket) stream.ref();
  }

  private addLine(line: string): void {
    this.lines.push(line);
    this.log?.write(`${line}\n`);
    for (const watcher of [...this.watchers]) watcher.onLine(line);
  }

  private exitStatusOrThrow(): { code: number | null; signal: NodeJS.Signals | null } {
    const status = this.exitStatus;
    if (status === undefined) throw new Error(`${this.name}: closed without an exit status`);
    return status;
  }

  private exitedAt(): number {
    return this.exit?.at ?? Date.now();
  }

  private describeExit(): string {
    return this.exit ? `code ${String(this.exit.code)}, signal ${String(this.exit.signal)}` : 'still running';
  }

  private failure(message: string, cause?: unknown): Error {
    const where = this.logFile ? ` (full log: ${this.logFile})` : '';
    return new Error(`${this.name} (pid ${this.pid}) ${message}${where}\n--- last output ---\n${this.tail()}`, { cause });
  }
}

/** The web process with the port it was told to listen on. */
export class WebProcess extends ServiceProcess {
  constructor(
    child: ChildProcess,
    options: StartOptions,
    readonly port: number,
  ) {
    super('web', child, options);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}

/**
 * Starts `node dist/api/src/main.js`. PORT defaults to a free port (see `url`). DATA_DIR and
 * REDIS_URL must be given, so a test never touches the developer's ./data or Redis on 6379.
 */
export async function startWeb(env: Env, options: StartOptions = {}): Promise<WebProcess> {
  const port = env.PORT === undefined ? await freePort() : Number(env.PORT);
  const child = spawnService(WEB_ENTRY, { ...env, PORT: String(port) });
  return new WebProcess(child, options, port);
}

/** Starts `node dist/worker/src/main.js`; it prints a line containing "worker ready" once started. */
export async function startWorker(env: Env, options: StartOptions = {}): Promise<ServiceProcess> {
  return new ServiceProcess('worker', spawnService(WORKER_ENTRY, env), options);
}

/** Runs a command (e.g. `bash scripts/smoke.sh`) in the repository root without stdin, in its own process group. */
export function run(command: string, args: string[] = [], env: Env = {}, options: RunOptions = {}): Promise<RunResult> {
  const { timeoutMs = 60_000, input, cwd = repoRoot } = options;
  const child = spawn(command, args, {
    cwd,
    env: mergeEnv(env),
    detached: true, // its own process group, so a timeout kills the script and everything it started
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const untrack = killOnExit(child, { group: true });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin?.end(input);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signalGroup(child, 'SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out after ${timeoutMs} ms\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      untrack();
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      untrack();
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A fresh directory under the OS temp dir, removed when the test process exits. */
export function tempDataDir(prefix = 'colmeia-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  removeOnExit(dir);
  return dir;
}

/** The minimal environment every child gets under the caller's overrides. */
export function mergeEnv(env: Env): NodeJS.ProcessEnv {
  const base: Env = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? tmpdir(),
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
  };
  const merged: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries({ ...base, ...env })) if (value !== undefined) merged[key] = value;
  return merged;
}

function spawnService(entry: string, env: Env): ChildProcess {
  if (!existsSync(path.join(repoRoot, entry))) throw new Error(`${entry} not found in ${repoRoot}: run npm run build first`);
  for (const key of ['DATA_DIR', 'REDIS_URL']) {
    if (env[key] === undefined) throw new Error(`start ${entry} with an explicit ${key} (tempDataDir(), startRedisServer())`);
  }
  const deployed = readProcfileCommand(repoRoot, PROCESS_TYPES[entry] ?? entry);
  if (deployed.entry !== entry) throw new Error(`the Procfile starts ${deployed.entry}, not ${entry}`);
  // The Procfile's assignments win, as they do in the shell that runs its line.
  const child = spawn(process.execPath, [...deployed.nodeFlags, entry], {
    cwd: repoRoot,
    env: mergeEnv({ ...env, ...deployed.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  return child;
}

// Test-process-wide registry (the one piece of module state here): what to SIGKILL and delete when
// the test process ends, however it ends. Entries leave as soon as their process exits, so a
// recycled pid is never signalled.
const tracked = new Map<ChildProcess, { group: boolean }>();
const tempDirs = new Set<string>();
let areExitHooksInstalled = false;

/** SIGKILLs child (its whole process group with group: true) if it is still running when the test process exits. */
export function killOnExit(child: ChildProcess, options: { group?: boolean } = {}): () => void {
  installExitHooks();
  tracked.set(child, { group: options.group ?? false });
  const untrack = () => void tracked.delete(child);
  if (!options.group) child.once('exit', untrack); // a group may outlive its leader: run() untracks on close
  return untrack;
}

/** Deletes dir (recursively) when the test process exits. */
export function removeOnExit(dir: string): void {
  installExitHooks();
  tempDirs.add(dir);
}

function installExitHooks(): void {
  if (areExitHooksInstalled) return;
  areExitHooksInstalled = true;
  process.on('exit', cleanUpNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUpNow();
      // Without other listeners, re-raise so the default action (exit by signal) still happens.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function cleanUpNow(): void {
  for (const [child, { group }] of tracked) {
    if (group) signalGroup(child, 'SIGKILL');
    else child.kill('SIGKILL');
  }
  tracked.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      process.stderr.write(`could not remove temp dir ${dir}: ${String(err)}\n`); // exiting: nothing else to do
    }
  }
  tempDirs.clear();
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ESRCH: the group is already gone
  }
}

async function answersOk(url: URL): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer(); // release the connection
  return response.ok;
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}
