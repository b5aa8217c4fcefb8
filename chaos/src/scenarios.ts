/**
 * The fault matrix (RELIABILITY.md (b)): what each scenario configures and injects during one run
 * of the load. A run's fault function returns when its faults are over and healed; the runner then
 * stops the load and checks. `skip` explains a scenario that cannot run here.
 */
import { sendInlineCommand } from '../../test/support/redis-server.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { Env } from '../../test/support/service-processes.js';
import { fillTmpfs, freeTmpfs, killDuringCheckpoint, killRandomWorker, runReindex } from './faults.js';
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
    title: 'kill -9 of npm run reindex (builtin embedder 384 ↔ 256 dims)',
    env: {},
    runs: (plan) => plan.reindexRuns,
    run: async (ctx) => {
      const current = Number(ctx.stack.workerEnv.BUILTIN_EMBED_DIM ?? '384');
      const next = current === 384 ? 256 : 384;
      const env = { ...ctx.stack.workerEnv, BUILTIN_EMBED_DIM: String(next) };
      let durationMs = 1_000;
      let isSwitched = false;
      for (let i = 0; i < ctx.plan.reindexKillsPerRun && !isSwitched; i++) {
        await delay(ctx.random.between(200, 1_000));
        const result = await runReindex(env, Math.round(ctx.random.between(100, 100 + 1.5 * durationMs)));
        if (result.outcome === 'killed') ctx.faults += 1;
        else if (result.outcome === 'done' || result.outcome === 'nothing')
          isSwitched = true; // nothing: a killed attempt had committed the switch
        else if (result.outcome === 'failed') throw new Error(`reindex failed:\n${result.output}`);
        durationMs = Math.max(durationMs, result.ms);
      }
      if (!isSwitched) {
        const result = await runReindex(env, undefined);
        if (result.outcome === 'nothing') note(ctx, 'killed reindexes that had already switched');
        else if (result.outcome !== 'done') throw new Error(`reindex did not switch (${result.outcome}):\n${result.output}`);
      }
      note(ctx, 'reindex switches');
      ctx.stack.workerEnv = env; // the workers stop by themselves at their next sync; the supervisor starts them with the new embedder
      const before = ctx.stack.workers.map((worker) => worker.processes.length);
      const deadline = Date.now() + 60_000;
      const isRestarted = () => ctx.stack.workers.every((worker, i) => worker.processes.length > (before[i] ?? 0) && worker.isReady);
      while (!isRestarted() && Date.now() < deadline) {
        await ctx.stack.client.post('/search', { query: 'hive honey', k: 1 }); // the load searches too; this bounds the wait without it
        await delay(250);
      }
      if (!isRestarted()) throw new Error('the workers did not restart with the new embedder within 60 s of the reindex');
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
