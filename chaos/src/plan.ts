/** How much of each scenario a run does: `--quick` (about 5 minutes on 2 cores) or the full matrix. */
export interface Plan {
  name: 'quick' | 'full';
  backends: Array<'sqlite' | 'postgres'>;
  scenarios: string[] | undefined; // undefined: all
  seed: number;
  clients: number; // parallel load clients
  killRuns: number;
  killsPerRun: number;
  checkpointRuns: number;
  checkpointKillsPerRun: number;
  checkpointRunMs: number;
  reindexRuns: number;
  reindexKillsPerRun: number;
  redisRuns: number;
  databaseRuns: number;
  diskFullCycles: number;
  outageMs: number; // Redis freeze and Postgres stop (a Redis restart keeps it down half as long)
  out: string;
}

export const USAGE = `Usage: npm run chaos [-- --quick] [--backend sqlite|postgres] [--scenario ID[,ID]] [--seed N] [--out FILE]
  Runs the fault matrix against real processes and prints one table; writes it as JSON (default chaos-results/latest.json).
  --quick     one run per scenario (about 5 minutes); default: the full matrix (200 kill -9 in kill9-load, 100 per backend)
  Scenarios: kill9-load, kill9-checkpoint, kill9-reindex, redis-faults, database-faults
  Exits 1 when any lost, duplicated, divergence, wrong-status or 500 cell is not 0.`;

export function parsePlan(argv: string[]): Plan | 'help' {
  const isQuick = argv.includes('--quick');
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at < 0 ? undefined : argv[at + 1];
  };
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const backend = value('--backend');
  if (backend !== undefined && backend !== 'sqlite' && backend !== 'postgres') throw new Error(`--backend must be sqlite or postgres, not ${backend}`);
  const backends: Plan['backends'] = backend ? [backend] : ['sqlite', 'postgres'];
  const base = {
    backends,
    scenarios: value('--scenario')?.split(','),
    seed: Number(value('--seed') ?? Math.floor(Math.random() * 2 ** 31)),
    out: value('--out') ?? 'chaos-results/latest.json',
    clients: 6,
  };
  if (isQuick) {
    return {
      ...base,
      name: 'quick',
      killRuns: 1,
      killsPerRun: 8,
      checkpointRuns: 1,
      checkpointKillsPerRun: 4,
      checkpointRunMs: 15_000,
      reindexRuns: 1,
      reindexKillsPerRun: 3,
      redisRuns: 1,
      databaseRuns: 1,
      diskFullCycles: 2,
      outageMs: 5_000,
    };
  }
  // 200 kill -9 in kill9-load over the whole run (100 per backend), about 15 minutes on 2 cores.
  return {
    ...base,
    name: 'full',
    killRuns: 2,
    killsPerRun: 50,
    checkpointRuns: 1,
    checkpointKillsPerRun: 15,
    checkpointRunMs: 60_000,
    reindexRuns: 2,
    reindexKillsPerRun: 3,
    redisRuns: 1,
    databaseRuns: 1,
    diskFullCycles: 4,
    outageMs: 10_000,
  };
}
