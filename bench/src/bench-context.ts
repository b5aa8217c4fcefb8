/**
 * What every phase of the benchmark shares: the plan, the figure book, the private redis-server, the
 * API key the processes are started with, a progress line writer (stderr, so stdout keeps the table),
 * and a way to open a fresh stack of processes on its own DATA_DIR and queue prefix.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDataDir, type Env } from '../../test/support/service-processes.js';
import { loadConfig, type Config } from '../../shared/src/config.js';
import { createLogger, type Logger } from '../../shared/src/logger.js';
import type { BenchPlan } from './bench-options.js';
import type { FigureBook } from './figure-book.js';
import { benchServiceEnv, ServiceStack } from './service-stack.js';

const PRELOAD = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'cpu-profile-preload.js')).href;

export interface BenchContext {
  plan: BenchPlan;
  book: FigureBook;
  redisUrl: string;
  redisPid: number;
  apiKey: string;
  progress: (message: string) => void;
}

export interface StackHandle {
  stack: ServiceStack;
  dataDir: string;
  config: Config; // the same settings for in-process use (NODE_ENV=test: no API key needed, logs errors only)
  logger: Logger;
  /** Stops the processes and deletes DATA_DIR at once (a 100k stage leaves ≈0.6 GB behind otherwise). */
  dispose(): Promise<void>;
}

/** A stack of processes (none started yet) on a fresh DATA_DIR and queue prefix, and a matching in-process config. */
export function newStack(ctx: BenchContext, name: string, extraEnv: Env = {}): StackHandle {
  const dataDir = tempDataDir(`colmeia-bench-${name}-`);
  const queuePrefix = `bench-${name}-${randomUUID().slice(0, 8)}`;
  if (ctx.plan.cpuProfileDir) mkdirSync(ctx.plan.cpuProfileDir, { recursive: true }); // the processes write into it on exit, and do not create it
  const profiling: Env = ctx.plan.cpuProfileDir ? { NODE_OPTIONS: `--import=${PRELOAD}`, COLMEIA_CPU_PROFILE_DIR: path.resolve(ctx.plan.cpuProfileDir) } : {};
  const env = benchServiceEnv({ redisUrl: ctx.redisUrl, dataDir, queuePrefix, apiKey: ctx.apiKey, extraEnv: { ...extraEnv, ...profiling } });
  const inProcess: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) inProcess[key] = value;
  const config = loadConfig({ ...inProcess, NODE_ENV: 'test', API_KEYS: '', LOG_LEVEL: 'error' });
  const stack = new ServiceStack(env);
  const dispose = async () => {
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  };
  return { stack, dataDir, config, logger: createLogger(config, 'bench'), dispose };
}
