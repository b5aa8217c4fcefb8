/**
 * One scenario on one backend: a fresh stack; per run, the load starts, the scenario's faults land
 * and heal, the load stops, and the checker and the divergence measurement judge the history so far;
 * then the stack is closed. Worker log lines are counted for the notes (checkpoint loads, rebuilds,
 * failed checkpoint writes), and every process log is written out when a defect was found.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PostgresClusterHandle } from '../../test/support/postgres-cluster.js';
import { checkHistory } from './checker.js';
import { measureDivergence } from './divergence.js';
import { mountTmpfs, unmount } from './faults.js';
import { History } from './history.js';
import { Load } from './load.js';
import type { Plan } from './plan.js';
import type { Random } from './random.js';
import type { RunContext, Scenario } from './scenarios.js';
import { Stack, type Backend } from './stack.js';
import type { StatusCounts } from './http-client.js';

export interface Row {
  scenario: string;
  title: string;
  backend: Backend;
  skipped?: string;
  error?: string; // the scenario could not finish (a worker that never became ready, a reindex that failed)
  runs: number;
  faults: number;
  documents: number;
  questions: number;
  removals: number;
  lost: number;
  duplicated: number;
  divergence: number;
  wrong: number;
  failedDocuments: number;
  http: StatusCounts | undefined;
  notes: Record<string, number>;
  details: string[];
  logs?: string;
  durationMs: number;
}

export interface Cleanup {
  mounts: Set<string>; // unmounted by main's exit hook if the run is cut short
}

const WORKER_LINE_NOTES: Array<[string, string]> = [
  ['index checkpoint loaded', 'worker starts from a checkpoint'],
  ['index rebuild from database', 'worker starts with a rebuild'],
  ['checkpoint failed', 'checkpoint writes failed (previous kept)'],
  ['worker start failed', 'worker start failures'],
  ['stalled job re-queued', 'stalled jobs re-queued'],
];

/** What one scenario on one backend carries from run to run. */
interface Session {
  scenario: Scenario;
  backend: Backend;
  plan: Plan;
  random: Random;
  stack: Stack;
  history: History;
  checked: Set<string>;
  notes: Map<string, number>;
  row: Row;
  progress: (message: string) => void;
}

export async function runScenario(
  scenario: Scenario,
  backend: Backend,
  plan: Plan,
  cluster: PostgresClusterHandle | undefined,
  random: Random,
  cleanup: Cleanup,
  progress: (message: string) => void,
): Promise<Row> {
  const started = Date.now();
  const row = newRow(scenario, backend);
  const { stack, mountError } = await startStack(scenario, backend, cluster, cleanup);
  const session: Session = {
    scenario,
    backend,
    plan,
    random,
    stack,
    history: new History(),
    checked: new Set<string>(),
    notes: new Map<string, number>(),
    row,
    progress,
  };
  try {
    if (mountError !== undefined) {
      row.skipped = `${mountError}: the full-disk fault needs a tmpfs (run as root)`;
      return row;
    }
    for (let run = 1; run <= scenario.runs(plan); run++) await runOnce(session, run);
  } catch (err) {
    row.error = err instanceof Error ? err.message.slice(0, 4_000) : String(err);
    row.details.push(`error: ${row.error}`);
    progress(`${scenario.id}/${backend} stopped by an error: ${row.error.slice(0, 2_000)}`);
  } finally {
    await finishRow(session, cleanup, started);
  }
  return row;
}

/** A row with nothing counted yet. */
export function newRow(scenario: Pick<Scenario, 'id' | 'title'>, backend: Backend): Row {
  return {
    scenario: scenario.id,
    title: scenario.title,
    backend,
    runs: 0,
    faults: 0,
    documents: 0,
    questions: 0,
    removals: 0,
    lost: 0,
    duplicated: 0,
    divergence: 0,
    wrong: 0,
    failedDocuments: 0,
    http: undefined,
    notes: {},
    details: [],
    durationMs: 0,
  };
}

/** A fresh stack; for a scenario that fills the disk on sqlite, its index directory on a small tmpfs (mountError when that failed). */
async function startStack(
  scenario: Scenario,
  backend: Backend,
  cluster: PostgresClusterHandle | undefined,
  cleanup: Cleanup,
): Promise<{ stack: Stack; mountError: string | undefined }> {
  let mountError: string | undefined;
  const stack = await Stack.start({
    backend,
    cluster,
    env: scenario.env,
    prepareDataDir: async (dataDir) => {
      if (!scenario.usesTmpfs || backend !== 'sqlite') return;
      const dir = path.join(dataDir, 'index');
      mountError = mountTmpfs(dir, 48);
      if (mountError === undefined) cleanup.mounts.add(dir);
    },
  });
  return { stack, mountError };
}

/** One run: the load starts, the scenario's faults land and heal, the load stops; then the checker and the divergence measurement add to the row. */
async function runOnce(session: Session, run: number): Promise<void> {
  const { scenario, backend, plan, random, stack, history, checked, notes, row, progress } = session;
  const tag = `${scenario.id.replace(/[^a-z0-9]/g, '')}${backend[0] ?? ''}r${run}`;
  const load = new Load(stack.client, history, random, tag, { clients: plan.clients, multiChunkShare: 0.25 });
  const ctx: RunContext = { stack, random, plan, faults: 0, notes };
  load.start();
  try {
    await ctx.stack.workersReady();
    await scenario.run(ctx);
  } finally {
    await load.stop();
  }
  const webExit = stack.web.exitStatus; // nothing restarts the web: without it every later check would only count no replies
  if (webExit) throw new Error(`the web process exited (code ${String(webExit.code)}, signal ${String(webExit.signal)}):\n${stack.web.tail(40)}`);
  await stack.workersReady();
  const findings = await checkHistory(stack.client, stack.db, history, checked);
  const divergence = await measureDivergence(stack);
  row.runs = run;
  row.faults += ctx.faults;
  row.lost += findings.lost;
  row.duplicated += findings.duplicated + divergence.duplicateLabels;
  row.wrong += findings.wrong;
  row.failedDocuments += findings.failedDocuments;
  row.divergence += divergence.divergence;
  notes.set('worker checkpoints compared with SQL', (notes.get('worker checkpoints compared with SQL') ?? 0) + divergence.compared);
  row.details.push(...findings.details.map((d) => `run ${run}: ${d}`), ...divergence.details.map((d) => `run ${run}: ${d}`));
  progress(
    `${scenario.id}/${backend} run ${run}: ${ctx.faults} faults, ${history.documentAcks} documents, lost ${row.lost}, dup ${row.duplicated}, divergence ${row.divergence}, wrong ${row.wrong}`,
  );
}

/** Totals and notes into the row, the stack closed, its logs written out on a defect, its mounts and data directory removed. */
async function finishRow(session: Session, cleanup: Cleanup, started: number): Promise<void> {
  const { plan, stack, history, notes, row } = session;
  row.documents = history.documentAcks;
  row.questions = history.questions.length;
  row.removals = history.removals.length;
  row.http = { ...stack.client.counts };
  row.details.push(...stack.client.samples500);
  for (const [key, value] of notes) row.notes[key] = value;
  for (const [needle, label] of WORKER_LINE_NOTES) {
    const count = stack.workers.flatMap((w) => w.processes).reduce((sum, proc) => sum + proc.lines.filter((line) => line.includes(needle)).length, 0);
    if (count > 0) row.notes[label] = count;
  }
  row.notes['worker kills (supervisor)'] = stack.workers.reduce((sum, w) => sum + w.kills, 0);
  await stack.close();
  if (hasDefect(row)) row.logs = writeLogs(plan, row, stack);
  for (const dir of cleanup.mounts) if (dir.startsWith(stack.dataDir)) unmountAndForget(cleanup, dir);
  rmSync(stack.dataDir, { recursive: true, force: true, maxRetries: 3 });
  row.durationMs = Date.now() - started;
}

export function hasDefect(row: Row): boolean {
  return row.error !== undefined || row.lost + row.duplicated + row.divergence + row.wrong + (row.http?.status500 ?? 0) > 0;
}

function unmountAndForget(cleanup: Cleanup, dir: string): void {
  unmount(dir);
  cleanup.mounts.delete(dir);
}

function writeLogs(plan: Plan, row: Row, stack: Stack): string {
  const dir = path.join(path.dirname(path.resolve(plan.out)), 'logs', `${row.scenario}-${row.backend}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'web.log'), `${stack.web.lines.join('\n')}\n`);
  for (const worker of stack.workers) {
    worker.processes.forEach((proc, i) => writeFileSync(path.join(dir, `${worker.name}-${i}-pid${proc.pid}.log`), `${proc.lines.join('\n')}\n`));
  }
  writeFileSync(path.join(dir, 'details.txt'), `${row.details.join('\n')}\n`);
  return dir;
}
