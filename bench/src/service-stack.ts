/**
 * The real processes behind the HTTP figures: built web and worker processes (test/support spawns
 * them) on one private redis-server and one DATA_DIR, configured as production is (NODE_ENV=production,
 * an API key, JSON logs at info) with the builtin embedder. Worker start-up is timed from spawn to its
 * "worker ready" line, and its "index ready" line says whether it loaded a checkpoint or rebuilt.
 */
import { z } from 'zod';
import { startWeb, startWorker, type Env, type ServiceProcess, type WebProcess } from '../../test/support/service-processes.js';

const START_TIMEOUT_MS = 30 * 60_000; // a rebuild of 100k vectors takes minutes on a busy machine
const STOP_TIMEOUT_MS = 120_000; // the final checkpoint of a large index is written on SIGTERM

export interface StackSettings {
  redisUrl: string;
  dataDir: string;
  queuePrefix: string;
  apiKey: string;
  extraEnv?: Env;
}

export interface IndexReady {
  source: 'checkpoint' | 'rebuild';
  durationMs: number; // VectorIndex.load: checkpoint or rebuild, then the log tail
  size: number;
  reason: string | null;
}

export interface WorkerStart {
  process: ServiceProcess;
  wallMs: number; // spawn until "worker ready": node start-up, migrations, embedder, index, queues
  index: IndexReady; // the first collection's (the default one)
}

const IndexReadyLine = z.object({
  message: z.literal('index ready'),
  source: z.enum(['checkpoint', 'rebuild']),
  durationMs: z.number(),
  size: z.number(),
  reason: z.string().nullable().optional(),
});

export function benchServiceEnv(settings: StackSettings): Env {
  return {
    NODE_ENV: 'production',
    API_KEYS: settings.apiKey,
    LOG_LEVEL: 'info',
    DATA_DIR: settings.dataDir,
    REDIS_URL: settings.redisUrl,
    QUEUE_PREFIX: settings.queuePrefix,
    EMBEDDER: 'builtin',
    ANSWERER: 'extractive',
    RATE_LIMIT_MAX: '1000000000', // the benchmark is one client sending thousands of requests a second
    ...settings.extraEnv,
  };
}

export class ServiceStack {
  readonly workers: WorkerStart[] = [];
  private web: WebProcess | undefined;

  constructor(readonly env: Env) {}

  get url(): string {
    if (!this.web) throw new Error('the web process is not started');
    return this.web.url;
  }

  get webPid(): number {
    return this.web?.pid ?? -1;
  }

  async startWorker(): Promise<WorkerStart> {
    const started = performance.now();
    const process = await startWorker(this.env);
    await process.waitForLine(/worker ready/, START_TIMEOUT_MS);
    const wallMs = performance.now() - started;
    const start = { process, wallMs, index: indexReadyOf(process) };
    this.workers.push(start);
    return start;
  }

  /** Stops one worker (SIGTERM: its final checkpoints are written) and forgets it. */
  async stopWorker(worker: WorkerStart): Promise<void> {
    const at = this.workers.indexOf(worker);
    if (at >= 0) this.workers.splice(at, 1);
    await worker.process.stop('SIGTERM', STOP_TIMEOUT_MS);
  }

  /** Resolves once the worker wrote a checkpoint (after a rebuild: at its first timer tick past CHECKPOINT_EVERY_OPS). */
  async waitForCheckpoint(worker: WorkerStart, timeoutMs = 120_000): Promise<void> {
    await worker.process.waitForLine(/checkpoint written/, timeoutMs);
  }

  async startWeb(): Promise<WebProcess> {
    this.web = await startWeb(this.env);
    await this.web.waitForHttp(this.web.url, 60_000);
    return this.web;
  }

  async stopWeb(): Promise<void> {
    await this.web?.stop('SIGTERM', STOP_TIMEOUT_MS);
    this.web = undefined;
  }

  async close(): Promise<void> {
    await this.stopWeb();
    await Promise.all(this.workers.splice(0).map((worker) => worker.process.stop('SIGTERM', STOP_TIMEOUT_MS)));
  }
}

function indexReadyOf(process: ServiceProcess): IndexReady {
  const [first] = indexReadyLines(process);
  if (!first) throw new Error(`worker ${process.pid} printed no "index ready" line:\n${process.tail()}`);
  return first;
}

/** Every "index ready" line of a worker so far, one per collection it loaded. */
export function indexReadyLines(process: ServiceProcess): IndexReady[] {
  const found: IndexReady[] = [];
  for (const line of process.lines) {
    if (!line.includes('"index ready"')) continue;
    const parsed = IndexReadyLine.safeParse(JSON.parse(line));
    if (parsed.success)
      found.push({ source: parsed.data.source, durationMs: parsed.data.durationMs, size: parsed.data.size, reason: parsed.data.reason ?? null });
  }
  return found;
}
