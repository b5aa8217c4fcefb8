/**
 * A private redis-server for tests that stop, kill or restart Redis, so no test
 * depends on, or disturbs, a Redis on 6379. It runs `redis-server` from PATH on 127.0.0.1, in a
 * fresh temp dir by default, with RDB snapshots off: the only persistence is the AOF, when asked for.
 * Readiness is a raw RESP `PING` answered `+PONG` (a server still loading its AOF answers -LOADING)
 * by the process we started (INFO's process_id), not by whatever else may hold the port.
 */
import { spawn } from 'node:child_process';
import { signalAndWait, trackServerChild, type ServerChild } from './server-child.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';
import { removeOnExit } from './service-processes.js';
import { waitFor } from './wait-for.js';

export interface RedisServerOptions {
  appendOnly?: boolean; // AOF on (appendfsync everysec unless extraArgs say otherwise); default off
  dir?: string; // working directory (AOF, RDB); default: a fresh temp dir, removed by close() or at exit
  port?: number; // default: a free port (retried if another process takes it first)
  extraArgs?: string[]; // appended to the command line, so they win: ['--appendfsync', 'always']
  startTimeoutMs?: number; // until PING answers, per start (default 10 s)
}

export interface RedisServerHandle {
  readonly url: string; // redis://127.0.0.1:<port>
  readonly port: number;
  readonly pid: number; // of the current process; changes on restart(), -1 when not running
  readonly dir: string;
  readonly isRunning: boolean;
  /** SIGTERM (RDB is off, so nothing is saved but the AOF is flushed) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash: at most the last second of AOF writes is lost (everysec). Waits for the exit. */
  kill(): Promise<void>;
  /** Stops it if it runs, then starts it again on the same port and dir; resolves once it answers PING. */
  restart(): Promise<void>;
  /** stop(), then delete the temp dir if startRedisServer made it. */
  close(): Promise<void>;
}

const START_ATTEMPTS = 5;
const STOP_TIMEOUT_MS = 10_000;

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'colmeia-redis-'));
  if (ownsDir) removeOnExit(dir);
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const server = new RedisServer(port, dir, ownsDir, options);
    try {
      await server.start();
      return server;
    } catch (err) {
      // Only a port we picked ourselves may have been taken in between: try another one.
      if (options.port !== undefined || attempt >= START_ATTEMPTS || !(err instanceof PortInUseError)) throw err;
    }
  }
}

/** The reply to an inline PING (`+PONG`, `-LOADING ...`); rejects if nothing answers in time. */
export async function pingRedis(port: number, timeoutMs = 500): Promise<string> {
  return sendInlineCommand(port, 'PING', timeoutMs);
}

/**
 * Sends one inline command over a fresh connection and returns its reply as the raw text of a
 * simple string, error or integer (`+PONG`, `-ERR ...`, `:1`) or the payload of a bulk string.
 */
export function sendInlineCommand(port: number, command: string, timeoutMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no reply to ${command} on port ${port} within ${timeoutMs} ms`)));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const reply = parseReply(received);
      if (reply === undefined) return;
      socket.destroy();
      resolve(reply);
    });
    socket.once('close', () => reject(new Error(`connection to port ${port} closed before a reply to ${command}`)));
  });
}

/** One complete RESP reply, or undefined while more bytes are needed. */
function parseReply(bytes: Buffer): string | undefined {
  const lineEnd = bytes.indexOf('\r\n');
  if (lineEnd < 0) return undefined;
  const line = bytes.subarray(0, lineEnd).toString('utf8');
  if (!line.startsWith('$')) return line;
  const length = Number(line.slice(1));
  if (length < 0) return '';
  const start = lineEnd + 2;
  return bytes.length >= start + length + 2 ? bytes.subarray(start, start + length).toString('utf8') : undefined;
}

/** True when the server on port is the process pid and answers PING: a +PONG alone may come from another server. */
async function isServedBy(port: number, pid: number | undefined): Promise<boolean> {
  if ((await pingRedis(port)) !== '+PONG') return false;
  const info = await sendInlineCommand(port, 'INFO server');
  return new RegExp(`^process_id:${String(pid)}\\r?$`, 'm').test(info);
}

class PortInUseError extends Error {}

type Running = ServerChild;

class RedisServer implements RedisServerHandle {
  private current: Running | undefined;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly options: RedisServerOptions,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.isRunning ? (this.current?.child.pid ?? -1) : -1;
  }

  get isRunning(): boolean {
    return this.current !== undefined && this.current.exitStatus === undefined;
  }

  async start(): Promise<void> {
    if (this.isRunning) throw new Error(`redis-server on port ${this.port} is already running`);
    const running = this.spawnServer();
    this.current = running;
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    try {
      await waitFor(async () => running.exitStatus !== undefined || (await isServedBy(this.port, running.child.pid)), {
        timeoutMs,
        intervalMs: 5,
        what: `redis-server on port ${this.port} to answer PING`,
      });
    } catch (err) {
      await this.kill();
      throw new Error(`${errorText(err)}\n--- redis-server output ---\n${running.output}`, { cause: err });
    }
    if (running.exitStatus !== undefined) throw startFailure(this.port, running);
    // A test that forgets close() must not keep its process alive; the exit hook still kills the server.
    running.child.unref();
    for (const stream of [running.child.stdout, running.child.stderr]) if (stream instanceof Socket) stream.unref();
  }

  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  private async signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    await signalAndWait(this.current, signal, STOP_TIMEOUT_MS, `redis-server on port ${this.port}`);
  }

  private spawnServer(): Running {
    const { appendOnly = false, extraArgs = [] } = this.options;
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--daemonize',
      'no',
      '--save',
      '', // no RDB snapshots: stop() saves nothing, restart() keeps data only through the AOF
      '--appendonly',
      appendOnly ? 'yes' : 'no',
      '--logfile',
      '', // stdout, captured for error messages
      '--loglevel',
      'warning',
      ...extraArgs,
    ];
    const child = spawn('redis-server', args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    return trackServerChild(child);
  }
}

function startFailure(port: number, running: Running): Error {
  const status = running.exitStatus;
  const error: NodeJS.ErrnoException | undefined = status?.error; // spawn errors carry a code
  if (error?.code === 'ENOENT') {
    return new Error('redis-server not found on PATH: install it (apt-get install redis-server, or brew install redis)');
  }
  const how = status?.error ? status.error.message : `code ${String(status?.code)}, signal ${String(status?.signal)}`;
  const message = `redis-server on port ${port} exited during start-up (${how})\n--- redis-server output ---\n${running.output}`;
  return /Address already in use/i.test(running.output) ? new PortInUseError(message) : new Error(message);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
