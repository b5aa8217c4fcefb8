/**
 * A private Postgres cluster for tests that stop and start the database, so no test depends on, or
 * disturbs, the machine's Postgres on 5432. `initdb` (trust auth, superuser `postgres`) makes a
 * cluster in a fresh temp dir; `postgres` serves it on a free port of 127.0.0.1, its socket in that
 * dir. initdb and postgres refuse to run as root, so under root both run as the `postgres` OS user
 * (spawn's uid/gid, so the child *is* the postmaster and gets our signals; `runuser` would stand in
 * between and not pass SIGINT on). The binaries come from /usr/lib/postgresql/<newest>/bin.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { signalAndWait, trackServerChild, type ServerChild } from './server-child.js';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';
import { removeOnExit } from './service-processes.js';
import { waitFor } from './wait-for.js';

export interface PostgresClusterHandle {
  readonly url: string; // postgres://postgres@127.0.0.1:<port>/postgres
  readonly port: number;
  readonly dir: string; // the temp dir: data/ and the Unix socket
  readonly isRunning: boolean;
  /** Fast shutdown (SIGINT to the postmaster: clients are cut, a checkpoint is written); waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** stop(), then delete the temp dir. */
  close(): Promise<void>;
}

const POSTGRES_LIB = '/usr/lib/postgresql';
const START_ATTEMPTS = 5;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

/** The bin dir of the newest installed Postgres that has initdb and postgres, or undefined (the caller skips). */
export function findPostgresBin(): string | undefined {
  if (!existsSync(POSTGRES_LIB)) return undefined;
  const versions = readdirSync(POSTGRES_LIB)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  return versions
    .map((version) => path.join(POSTGRES_LIB, version, 'bin'))
    .find((bin) => existsSync(path.join(bin, 'initdb')) && existsSync(path.join(bin, 'postgres')));
}

export async function startPostgresCluster(bin = findPostgresBin()): Promise<PostgresClusterHandle> {
  if (bin === undefined) throw new Error(`no initdb under ${POSTGRES_LIB}/*/bin: install postgresql (apt-get install postgresql)`);
  const owner = clusterOwner();
  const dir = mkdtempSync(path.join(tmpdir(), 'colmeia-pg-'));
  removeOnExit(dir);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const dataDir = path.join(dir, 'data');
  await promisify(execFile)(path.join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], {
    ...(owner ?? {}),
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
  });
  for (let attempt = 1; ; attempt++) {
    const cluster = new PostgresCluster(bin, dir, await freePort(), owner);
    try {
      await cluster.start();
      return cluster;
    } catch (err) {
      // The free port may have been taken in between: try another one.
      if (attempt >= START_ATTEMPTS || !(err instanceof PortInUseError)) {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
        throw err;
      }
    }
  }
}

class PortInUseError extends Error {}

type Running = ServerChild;

class PostgresCluster implements PostgresClusterHandle {
  private current: Running | undefined;

  constructor(
    private readonly bin: string,
    readonly dir: string,
    readonly port: number,
    private readonly owner: { uid: number; gid: number } | undefined,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get isRunning(): boolean {
    return this.current !== undefined && this.current.exitStatus === undefined;
  }

  async start(): Promise<void> {
    if (this.isRunning) throw new Error(`postgres on port ${this.port} is already running`);
    const running = this.spawnPostmaster();
    this.current = running;
    try {
      await waitFor(async () => running.exitStatus !== undefined || (await acceptsQueries(this.url)), {
        timeoutMs: START_TIMEOUT_MS,
        intervalMs: 50,
        what: `postgres on port ${this.port} to accept connections`,
      });
    } catch (err) {
      await this.signal('SIGKILL');
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- postgres output ---\n${running.output}`, { cause: err });
    }
    if (running.exitStatus !== undefined) {
      const message = `postgres on port ${this.port} exited during start-up (code ${String(running.exitStatus.code)}, ${running.exitStatus.error?.message ?? 'no spawn error'})\n--- postgres output ---\n${running.output}`;
      throw /could not bind|already in use/i.test(running.output) ? new PortInUseError(message) : new Error(message);
    }
    // A test that forgets close() must not keep its process alive; the exit hook still kills the postmaster.
    running.child.unref();
    for (const stream of [running.child.stdout, running.child.stderr]) if (stream instanceof Socket) stream.unref();
  }

  stop(): Promise<void> {
    return this.signal('SIGINT');
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  private async signal(signal: 'SIGINT' | 'SIGKILL'): Promise<void> {
    await signalAndWait(this.current, signal, STOP_TIMEOUT_MS, `postgres on port ${this.port}`);
  }

  private spawnPostmaster(): Running {
    const args = [
      '-D',
      path.join(this.dir, 'data'),
      '-p',
      String(this.port),
      '-k',
      this.dir, // the Unix socket stays in our dir, away from /var/run/postgresql
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off', // a test cluster: a clean stop still checkpoints, only a power loss would lose data
    ];
    const child = spawn(path.join(this.bin, 'postgres'), args, {
      ...(this.owner ?? {}),
      cwd: this.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return trackServerChild(child);
  }
}

/** Under root, the `postgres` OS user's uid and gid (initdb and postgres refuse root); otherwise ourselves. */
function clusterOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function acceptsQueries(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => undefined); // a start-up FATAL (57P03) is reported by connect() too
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}
