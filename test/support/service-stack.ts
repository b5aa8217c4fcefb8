/**
 * A whole colmeia for an end-to-end test: a private redis-server, optionally a private Postgres
 * schema, web processes and workers started with one environment, each waited for (HTTP, "worker
 * ready"). On SQLite every process shares one DATA_DIR, since the database file lives there; on
 * Postgres each process gets its own, as on separate machines. close() stops everything it started.
 */
import { randomUUID } from 'node:crypto';
import { createPostgresSchema, type PostgresSchema } from './postgres-schema.js';
import { startRedisServer, type RedisServerHandle, type RedisServerOptions } from './redis-server.js';
import { startWeb, startWorker, tempDataDir, type Env, type ServiceProcess, type WebProcess } from './service-processes.js';

export interface StackOptions {
  env: Env; // every process's environment, under REDIS_URL, DATA_DIR and DATABASE_URL set here (QUEUE_PREFIX: a fresh one unless given)
  webs?: number; // default 1
  workers?: number; // default 1; 0 starts none (start them later with startWorker)
  postgres?: boolean; // a fresh schema of TEST_DATABASE_URL instead of SQLite
  redis?: RedisServerOptions;
  dataDirPrefix?: string;
  readyTimeoutMs?: number; // per process, default 30 s
}

const DEFAULT_READY_MS = 30_000;

export class ServiceStack {
  readonly webs: WebProcess[] = [];
  readonly workers: ServiceProcess[] = [];
  readonly workerDirs: string[] = []; // the DATA_DIR of each worker, in the order of `workers`
  private readonly sharedDir: string;
  private readonly queuePrefix = `e2e-${randomUUID()}`;
  private readonly readyMs: number;

  constructor(
    readonly redis: RedisServerHandle,
    readonly schema: PostgresSchema | undefined,
    private readonly options: StackOptions,
  ) {
    this.sharedDir = tempDataDir(options.dataDirPrefix);
    this.readyMs = options.readyTimeoutMs ?? DEFAULT_READY_MS;
  }

  /** The first web process. */
  get web(): WebProcess {
    return first(this.webs, 'web process');
  }

  /** The first worker. */
  get worker(): ServiceProcess {
    return first(this.workers, 'worker');
  }

  /** The environment a further process of this stack starts with (its own DATA_DIR on Postgres). */
  envFor(extra: Env = {}): Env {
    return {
      QUEUE_PREFIX: this.queuePrefix,
      ...this.options.env,
      REDIS_URL: this.redis.url,
      DATA_DIR: this.schema === undefined ? this.sharedDir : tempDataDir(this.options.dataDirPrefix),
      ...(this.schema === undefined ? {} : { DATABASE_URL: this.schema.url }),
      ...extra,
    };
  }

  /** Another web process, answering HTTP; added to `webs` and stopped by close(). */
  async startWeb(extra?: Env): Promise<WebProcess> {
    const web = await startWeb(this.envFor(extra));
    this.webs.push(web);
    await web.waitForHttp(web.url, this.readyMs);
    return web;
  }

  /** Another worker, ready; added to `workers` and stopped by close(). */
  async startWorker(extra?: Env): Promise<ServiceProcess> {
    const env = this.envFor(extra);
    const worker = await startWorker(env);
    this.workers.push(worker);
    this.workerDirs.push(env['DATA_DIR'] ?? '');
    await worker.waitForLine(/worker ready/, this.readyMs);
    return worker;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.webs, ...this.workers].map((p) => p.close()));
    await this.redis.close();
    await this.schema?.drop();
  }
}

export async function startServiceStack(options: StackOptions): Promise<ServiceStack> {
  const redis = await startRedisServer(options.redis ?? {});
  const schema = options.postgres ? await createPostgresSchema(process.env['TEST_DATABASE_URL'] ?? '') : undefined;
  const stack = new ServiceStack(redis, schema, options);
  try {
    // Started together: each process runs the migrations at start, under knex's migration lock.
    await Promise.all([
      ...Array.from({ length: options.webs ?? 1 }, () => stack.startWeb()),
      ...Array.from({ length: options.workers ?? 1 }, () => stack.startWorker()),
    ]);
    return stack;
  } catch (err) {
    await stack.close();
    throw err;
  }
}

function first<T>(list: readonly T[], what: string): T {
  const item = list[0];
  if (item === undefined) throw new Error(`the stack has no ${what}`);
  return item;
}
