/**
 * One colmeia deployment for one scenario on one backend: a private redis-server with AOF, the
 * database (a SQLite file in DATA_DIR, or a fresh database in the run's private Postgres cluster),
 * the built web process and two supervised workers. Workers reach Redis through a TCP proxy, so a
 * scenario can make their connections half-open; the web talks to Redis directly. Nothing listens
 * on anything but 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import pg from 'pg';
import { sqliteFile } from '../../shared/src/db/connection.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import type { PostgresClusterHandle } from '../../test/support/postgres-cluster.js';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';
import { startWeb, tempDataDir, type Env, type WebProcess } from '../../test/support/service-processes.js';
import { startTcpProxy, type TcpProxy } from '../../test/support/tcp-proxy.js';
import { ChaosClient } from './http-client.js';
import { Supervisor } from './supervisor.js';

export type Backend = 'sqlite' | 'postgres';

export interface StackOptions {
  backend: Backend;
  cluster: PostgresClusterHandle | undefined; // required for postgres
  env: Env; // scenario settings over the base ones
  prepareDataDir?: (dataDir: string) => Promise<void>; // e.g. mount a tmpfs at DATA_DIR/index
}

export class Stack {
  workerEnv: Env;
  private constructor(
    readonly backend: Backend,
    readonly redis: RedisServerHandle,
    readonly proxy: TcpProxy,
    readonly web: WebProcess,
    readonly workers: Supervisor[],
    readonly client: ChaosClient,
    readonly db: Knex,
    readonly dataDir: string,
    readonly cluster: PostgresClusterHandle | undefined,
    workerEnv: Env,
  ) {
    this.workerEnv = workerEnv;
  }

  /** DATA_DIR/index: every collection's checkpoints below it (the tmpfs of the full-disk fault is mounted here). */
  get indexDir(): string {
    return path.join(this.dataDir, 'index');
  }

  /** The default collection's checkpoint directory: the load writes to that collection only. */
  get checkpointDir(): string {
    return path.join(this.indexDir, DEFAULT_COLLECTION);
  }

  static async start(options: StackOptions): Promise<Stack> {
    const key = randomBytes(16).toString('hex');
    const dataDir = tempDataDir('colmeia-chaos-');
    mkdirSync(path.join(dataDir, 'index'), { recursive: true });
    await options.prepareDataDir?.(dataDir);
    const redis = await startRedisServer({ appendOnly: true });
    const proxy = await startTcpProxy(redis.port);
    const databaseUrl = options.backend === 'postgres' ? await createDatabase(options.cluster) : undefined;
    const env: Env = {
      NODE_ENV: 'production', // JSON log lines, API key required: what runs in production
      API_KEYS: key,
      DATA_DIR: dataDir,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `chaos-${randomBytes(4).toString('hex')}`,
      RATE_LIMIT_MAX: '10000000',
      CHUNK_SIZE: '200',
      CHUNK_OVERLAP: '20',
      EMBED_BATCH_SIZE: '8',
      STALL_INTERVAL_MS: '1000',
      HEARTBEAT_INTERVAL_MS: '300',
      SWEEP_INTERVAL_MS: '2000',
      SWEEP_MIN_AGE_MS: '3000',
      WATCHDOG_INTERVAL_MS: '1000',
      REDIS_KEEPALIVE_MS: '1000',
      JOB_BACKOFF_MS: '200',
      SHUTDOWN_GRACE_MS: '10000',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...options.env,
    };
    const web = await startWeb(env);
    await web.waitForHttp(web.url, 60_000);
    const workerEnv: Env = { ...env, REDIS_URL: proxy.url };
    const db = databaseUrl
      ? knex({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 2 } })
      : knex({ client: 'better-sqlite3', connection: { filename: sqliteFile(dataDir) }, useNullAsDefault: true });
    const stack = new Stack(options.backend, redis, proxy, web, [], new ChaosClient(web.url, key), db, dataDir, options.cluster, workerEnv);
    for (const name of ['worker-a', 'worker-b']) stack.workers.push(new Supervisor(name, () => stack.workerEnv));
    for (const worker of stack.workers) await worker.start(); // one after the other: the first migrates and records the embedder
    return stack;
  }

  /** Both workers up and ready, within timeoutMs. */
  async workersReady(timeoutMs = 90_000): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.whenReady(timeoutMs)));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((worker) => worker.stop()));
    await Promise.allSettled([this.web.close()]);
    await this.db.destroy().catch(() => undefined);
    await this.proxy.close();
    await this.redis.close();
  }
}

/** A fresh database in the private cluster, so scenarios never see each other's rows. */
async function createDatabase(cluster: PostgresClusterHandle | undefined): Promise<string> {
  if (cluster === undefined) throw new Error('the postgres backend needs the private cluster');
  const name = `chaos_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return cluster.url.replace(/\/postgres$/, `/${name}`);
}
