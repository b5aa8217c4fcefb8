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

export interface ServiceStack {
  readonly redis: RedisServerHandle;
  readonly schema: PostgresSchema | undefined;
  readonly webs: WebProcess[];
  readonly workers: ServiceProcess[];
  readonly workerDirs: string[]; // the DATA_DIR of each worker, in the order of `workers`
  /** The first web process and the first worker. */
  readonly web: WebProcess;
  readonly worker: ServiceProcess;
  /** The environment a further process of this stack starts with (its own DATA_DIR on Postgres). */
  envFor(extra?: Env): Env;
  /** Another web process, answering HTTP; stopped by close(). */
  startWeb(extra?: Env): Promise<WebProcess>;
  /** Another worker, ready; added to `workers` and stopped by close(). */
  startWorker(extra?: Env): Promise<ServiceProcess>;
  close(): Promise<void>;
}

const DEFAULT_READY_MS = 30_000;

export async function startServiceStack(options: StackOptions): Promise<ServiceStack> {
  const readyMs = options.readyTimeoutMs ?? DEFAULT_READY_MS;
  const redis = await startRedisServer(options.redis ?? {});
  const schema = options.postgres ? await createPostgresSchema(process.env['TEST_DATABASE_URL'] ?? '') : undefined;
  const sharedDir = tempDataDir(options.dataDirPrefix);
  const webs: WebProcess[] = [];
  const workers: ServiceProcess[] = [];
  const workerDirs: string[] = [];
  const others: ServiceProcess[] = [];
  const queuePrefix = `e2e-${randomUUID()}`;
  const envFor = (extra: Env = {}): Env => ({
    QUEUE_PREFIX: queuePrefix,
    ...options.env,
    REDIS_URL: redis.url,
    DATA_DIR: schema === undefined ? sharedDir : tempDataDir(options.dataDirPrefix),
    ...(schema === undefined ? {} : { DATABASE_URL: schema.url }),
    ...extra,
  });
  const stack: ServiceStack = {
    redis,
    schema,
    webs,
    workers,
    workerDirs,
    get web() {
      const first = webs[0];
      if (first === undefined) throw new Error('the stack has no web process');
      return first;
    },
    get worker() {
      const first = workers[0];
      if (first === undefined) throw new Error('the stack has no worker');
      return first;
    },
    envFor,
    async startWeb(extra) {
      const web = await startWeb(envFor(extra));
      others.push(web);
      await web.waitForHttp(web.url, readyMs);
      return web;
    },
    async startWorker(extra) {
      const env = envFor(extra);
      const worker = await startWorker(env);
      workers.push(worker);
      workerDirs.push(env['DATA_DIR'] ?? '');
      await worker.waitForLine(/worker ready/, readyMs);
      return worker;
    },
    async close() {
      await Promise.allSettled([...webs, ...workers, ...others].map((p) => p.close()));
      await redis.close();
      await schema?.drop();
    },
  };
  try {
    // Started together: each process runs the migrations at start, under knex's migration lock.
    await Promise.all([
      ...Array.from({ length: options.webs ?? 1 }, async () => {
        const web = await startWeb(envFor());
        webs.push(web);
        await web.waitForHttp(web.url, readyMs);
      }),
      ...Array.from({ length: options.workers ?? 1 }, () => stack.startWorker()),
    ]);
    return stack;
  } catch (err) {
    await stack.close();
    throw err;
  }
}
