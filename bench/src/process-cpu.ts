/**
 * CPU time used by the processes of a run (Linux /proc/<pid>/stat utime + stime), so a figure can say
 * where the time goes per request: web, workers, Redis and the benchmark's own client. Unlike wall
 * time or a sampling profile, CPU time stays meaningful on a machine shared with other work.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux the project runs on (getconf CLK_TCK)

/** Milliseconds of CPU (user + system) the process has used so far. */
export function readProcessCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the command name may hold spaces
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read CPU times of ${pid}`);
  return ((utime + stime) / TICKS_PER_SECOND) * 1_000;
}

export interface CpuSnapshot {
  at: Map<string, number>; // role → CPU ms
}

/** CPU ms of each named process now; `self` is this process. */
export function snapshotCpu(processes: Record<string, number>): CpuSnapshot {
  const at = new Map<string, number>();
  for (const [role, pid] of Object.entries(processes)) at.set(role, role === 'client' ? selfCpuMs() : readProcessCpuMs(pid));
  return { at };
}

/** CPU ms per request of each process between two snapshots. */
export function cpuPerRequest(before: CpuSnapshot, after: CpuSnapshot, requests: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [role, start] of before.at) out[role] = Number((((after.at.get(role) ?? start) - start) / Math.max(1, requests)).toFixed(3));
  return out;
}

function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1_000;
}

/**
 * Resolves once every given process used under `maxShare` of a core over one `windowMs` window (or
 * after `timeoutMs`, saying so): a per-request CPU figure taken while a worker still does start-up
 * work in the background (the filtered-search vector copies) would charge that work to requests.
 */
export async function waitForQuietProcesses(
  pids: readonly number[],
  options: { windowMs: number; maxShare: number; timeoutMs: number },
): Promise<{ waitedMs: number; isQuiet: boolean }> {
  const started = performance.now();
  for (;;) {
    const before = pids.map(readProcessCpuMs);
    await new Promise((resolve) => setTimeout(resolve, options.windowMs));
    const busiest = Math.max(...pids.map((pid, i) => readProcessCpuMs(pid) - (before[i] ?? 0)));
    const waitedMs = performance.now() - started;
    if (busiest <= options.maxShare * options.windowMs) return { waitedMs, isQuiet: true };
    if (waitedMs > options.timeoutMs) return { waitedMs, isQuiet: false };
  }
}
