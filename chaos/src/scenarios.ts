/**
 * The fault matrix (RELIABILITY.md (b)): what each scenario configures and injects during one run
 * of the load. A run's fault function returns when its faults are over and healed; the runner then
 * stops the load and checks. `skip` explains a scenario that cannot run here.
 */
import { sendInlineCommand } from '../../test/support/redis-server.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { Env } from '../../test/support/service-processes.js';
import { fillTmpfs, freeTmpfs, killDuringCheckpoint, killRandomWorker } from './faults.js';
import type { Plan } from './plan.js';
import type { Random } from './random.js';
import type { Backend, Stack } from './stack.js';

export interface RunContext {
  stack: Stack;
  random: Random;
  plan: Plan;
  faults: number; // counted by the fault function
  notes: Map<string, number>; // e.g. "kills landed mid-checkpoint"
}

export interface Scenario {
  id: string;
  title: string;
  env: Env;
  usesTmpfs?: boolean; // SQLite: DATA_DIR/index is a small tmpfs
  runs: (plan: Plan) => number;
  skip?: (backend: Backend) => string | undefined;
  run: (ctx: RunContext) => Promise<void>;
}

const note = (ctx: RunContext, key: string, by = 1) => ctx.notes.set(key, (ctx.notes.get(key) ?? 0) + by);

export const SCENARIOS: Scenario[] = [
  {
    id: 'kill9-load',
    title: 'kill -9 of a random worker during mixed load',
    env: { CHECKPOINT_EVERY_OPS: '500' },
    runs: (plan) => plan.killRuns,
    run: async (ctx) => {
      for (let i = 0; i < ctx.plan.killsPerRun; i++) {
        await delay(ctx.random.between(300, 1_500));
        await killRandomWorker(ctx.stack, ctx.random);
        ctx.faults += 1;
      }
      await delay(1_000);
    },
  },
  {
    id: 'kill9-checkpoint',
    title: 'kill -9 of the worker writing a checkpoint',
    env: { CHECKPOINT_EVERY_OPS: '20', CHECKPOINT_INTERVAL_MS: '500' },
    runs: (plan) => plan.checkpointRuns,
    run: async (ctx) => {
      const deadline = Date.now() + ctx.plan.checkpointRunMs;
      while (ctx.faults < ctx.plan.checkpointKillsPerRun && Date.now() < deadline) {
        await ctx.stack.workersReady();
        const outcome = await killDuringCheckpoint(ctx.stack, ctx.random, Math.max(0, deadline - Date.now()));
        if (outcome === 'landed') ctx.faults += 1;
        if (outcome === 'missed') note(ctx, 'checkpoint writes over before the kill');
      }
      await delay(1_000);
    },
  },
  {
    id: 'kill9-reindex',
    title: 'kill -9 of workers while a reindex builds a new generation of the default collection (builtin 384 ↔ 256 dims)',
    env: {},
    runs: (plan) => plan.reindexRuns,
    run: async (ctx) => {
      const { client } = ctx.stack;
      const current = (await client.get('/collections/default')).body as { embedder?: string } | null;
      const next = current?.embedder === 'builtin:256' ? 'builtin:384' : 'builtin:256';
      const accepted = await client.post('/collections/default/reindex', { embedder: next });
      if (accepted.status !== 202) throw new Error(`reindex not accepted: ${accepted.status} ${accepted.text}`);
      const path = `/jobs/reindex/${encodeURIComponent((accepted.body as { job: { id: string } }).job.id)}`;
      const status = async () => ((await client.get(path)).body as { status?: string } | null)?.status;
      for (let i = 0; i < ctx.plan.reindexKillsPerRun; i++) {
        await delay(ctx.random.between(0, i === 0 ? 100 : 1_000)); // the first soon: a builtin build of a small corpus takes well under a second
        if (i > 0 && (await status()) === 'succeeded') break;
        await killRandomWorker(ctx.stack, ctx.random); // the supervisor starts it again; the build resumes from its staged vectors
        ctx.faults += 1;
      }
      const deadline = Date.now() + 120_000;
      let last = await status();
      while (last !== 'succeeded' && last !== 'failed' && Date.now() < deadline) {
        await delay(250);
        last = await status();
      }
      if (last !== 'succeeded') throw new Error(`the reindex did not swap within 120 s of its kills (${last ?? 'unknown'})`);
      note(ctx, 'reindex swaps');
      await delay(1_000);
    },
  },
  {
    id: 'redis-faults',
    title: 'Redis restart, FLUSHALL, freeze (SIGSTOP), half-open connections',
    env: {},
    runs: (plan) => plan.redisRuns,
    run: async (ctx) => {
      const { redis, proxy } = ctx.stack;
      await delay(2_000);
      await redis.stop();
      await delay(ctx.plan.outageMs / 2);
      await redis.restart();
      ctx.faults += 1;
      await delay(3_000);
      await sendInlineCommand(redis.port, 'FLUSHALL');
      await sendInlineCommand(redis.port, 'SCRIPT FLUSH');
      ctx.faults += 1;
      await delay(3_000);
      process.kill(redis.pid, 'SIGSTOP');
      try {
        await delay(ctx.plan.outageMs);
      } finally {
        process.kill(redis.pid, 'SIGCONT');
      }
      ctx.faults += 1;
      await delay(3_000);
      note(ctx, 'half-open connections', proxy.blackholeExisting());
      ctx.faults += 1;
      await delay(5_000);
    },
  },
  {
    id: 'database-faults',
    title: 'Postgres stopped and restarted / SQLite: index cache on a tmpfs that fills up',
    env: { CHECKPOINT_EVERY_OPS: '20', CHECKPOINT_INTERVAL_MS: '500' },
    usesTmpfs: true,
    runs: (plan) => plan.databaseRuns,
    run: async (ctx) => {
      await delay(2_000);
      if (ctx.stack.backend === 'postgres') {
        const cluster = ctx.stack.cluster;
        if (cluster === undefined) throw new Error('no cluster');
        await cluster.stop();
        await delay(ctx.plan.outageMs);
        await cluster.start();
        ctx.faults += 1;
        await delay(4_000);
        return;
      }
      for (let i = 0; i < ctx.plan.diskFullCycles; i++) {
        await fillTmpfs(ctx.stack.indexDir, 32_768);
        await delay(2_500);
        await freeTmpfs(ctx.stack.indexDir);
        ctx.faults += 1;
        await delay(1_500);
      }
    },
  },
];
