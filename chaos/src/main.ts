/**
 * `npm run chaos`: proves the fault matrix against real processes. For each scenario and backend
 * (SQLite, and Postgres on a private cluster this command starts) it runs two supervised workers and
 * one web against a private redis-server with AOF, drives a mixed load, injects the faults, checks
 * the history and prints one table; the JSON goes to chaos-results/latest.json. Every wait is
 * bounded; processes, mounts and temp dirs are removed at the end, also on Ctrl-C.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findPostgresBin, startPostgresCluster, type PostgresClusterHandle } from '../../test/support/postgres-cluster.js';
import { unmount } from './faults.js';
import { parsePlan, USAGE } from './plan.js';
import { Random } from './random.js';
import { renderNotes, renderTable } from './render-table.js';
import { hasDefect, newRow, runScenario, type Cleanup, type Row } from './run-scenario.js';
import { SCENARIOS } from './scenarios.js';

async function main(): Promise<number> {
  const plan = parsePlan(process.argv.slice(2));
  if (plan === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const cleanup: Cleanup = { mounts: new Set() };
  installCleanup(cleanup); // before anything registers its own exit hooks: mounts go before temp dirs
  const startedAt = Date.now();
  const progress = (message: string) => process.stderr.write(`[chaos ${Math.round((Date.now() - startedAt) / 1000)} s] ${message}\n`);
  progress(`${plan.name} run, seed ${plan.seed}, ${os.cpus().length} cores`);
  const random = new Random(plan.seed);
  const rows: Row[] = [];
  const scenarios = SCENARIOS.filter((scenario) => plan.scenarios === undefined || plan.scenarios.includes(scenario.id));
  for (const backend of plan.backends) {
    let cluster: PostgresClusterHandle | undefined;
    if (backend === 'postgres') {
      const bin = findPostgresBin();
      if (bin === undefined) {
        for (const scenario of scenarios) rows.push(skippedRow(scenario.id, scenario.title, 'no initdb under /usr/lib/postgresql/*/bin'));
        continue;
      }
      cluster = await startPostgresCluster(bin);
    }
    try {
      for (const scenario of scenarios) {
        progress(`${scenario.id} on ${backend}: ${scenario.title}`);
        rows.push(await runScenario(scenario, backend, plan, cluster, random, cleanup, progress));
      }
    } finally {
      await cluster?.close();
    }
  }
  const durationSeconds = Math.round((Date.now() - startedAt) / 1000);
  process.stdout.write(`\n${renderTable(rows)}\n${renderNotes(rows)}\n${plan.name} run: ${durationSeconds} s, seed ${plan.seed}\n`);
  const out = path.resolve(plan.out);
  mkdirSync(path.dirname(out), { recursive: true });
  const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  writeFileSync(out, `${JSON.stringify({ date: new Date(startedAt).toISOString(), plan, durationSeconds, machine, rows }, null, 2)}\n`);
  progress(`done in ${durationSeconds} s; JSON written to ${out}`);
  return rows.some(hasDefect) ? 1 : 0;
}

function skippedRow(scenario: string, title: string, reason: string): Row {
  return { ...newRow({ id: scenario, title }, 'postgres'), skipped: reason };
}

/**
 * Ctrl-C or SIGTERM ends the run at once: exiting runs the exit hooks, this one first (unmount the
 * tmpfs), then test/support's (SIGKILL every child it started, delete the temp dirs).
 */
function installCleanup(cleanup: Cleanup): void {
  process.on('exit', () => {
    for (const dir of cleanup.mounts) unmount(dir);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`chaos: ${signal}, cleaning up\n`);
      process.exit(130);
    });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
