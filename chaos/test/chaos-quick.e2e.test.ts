/**
 * `npm run chaos -- --quick` as a test: the built chaos command runs the quick fault matrix (every
 * scenario on SQLite and on a private Postgres cluster) as a child process, and every cell that
 * counts a defect must be 0: lost, duplicated, index–SQL divergence, wrong statuses, 500s. It takes
 * about 5 minutes on 2 cores. Skipped scenarios (no Postgres binaries, no tmpfs mount) say why in
 * the table and are not failures; `.ci/run` installs the Postgres binaries and runs as root. The
 * run's JSON and, for every row with a defect, its process logs stay in test-artifacts/ when it fails.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ARTIFACTS_DIR, run } from '../../test/support/service-processes.js';

const TIMEOUT_MS = 12 * 60_000; // the quick run alone takes about 5 minutes; other test files run beside it

const Row = z.object({
  scenario: z.string(),
  backend: z.string(),
  skipped: z.string().optional(),
  error: z.string().optional(),
  runs: z.number(),
  notes: z.record(z.string(), z.number()),
  faults: z.number(),
  lost: z.number(),
  duplicated: z.number(),
  divergence: z.number(),
  wrong: z.number(),
  http: z.object({ status500: z.number(), status503WithoutRetryAfter: z.number() }).optional(),
  details: z.array(z.string()),
});
const Report = z.object({ rows: z.array(Row), durationSeconds: z.number() });

describe('the quick chaos matrix', () => {
  it('loses, duplicates and misreports nothing and answers no 500 under every fault', { timeout: TIMEOUT_MS }, async (t) => {
    const dir = path.join(ARTIFACTS_DIR, `chaos-quick-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(dir, { recursive: true });
    let isPassed = false;
    try {
      const out = path.join(dir, 'quick.json');
      const result = await run(process.execPath, ['dist/chaos/src/main.js', '--quick', '--out', out], {}, { timeoutMs: TIMEOUT_MS - 30_000 });
      t.diagnostic(result.stdout);
      const report = Report.parse(JSON.parse(readFileSync(out, 'utf8')));
      assert.ok(report.rows.length >= 10, `every scenario on both backends: ${report.rows.length} rows`);
      for (const row of report.rows) {
        const name = `${row.scenario}/${row.backend}`;
        if (row.skipped !== undefined) {
          t.diagnostic(`${name} skipped: ${row.skipped}`);
          continue;
        }
        const why = `${name}: ${row.details.join('; ')}\n${result.stderr.slice(-4_000)}`;
        assert.equal(row.error, undefined, why);
        // A reindex of a small database may end before its first kill: the switch under load still ran.
        const hasFaultsOrSwitch = row.faults > 0 || (row.scenario === 'kill9-reindex' && (row.notes['reindex switches'] ?? 0) > 0);
        if (row.faults === 0 && hasFaultsOrSwitch) t.diagnostic(`${name}: the reindex ended before any kill landed`);
        assert.ok(row.runs > 0 && hasFaultsOrSwitch, `${name} ran and injected faults`);
        assert.deepEqual(
          { lost: row.lost, duplicated: row.duplicated, divergence: row.divergence, wrong: row.wrong, status500: row.http?.status500 },
          { lost: 0, duplicated: 0, divergence: 0, wrong: 0, status500: 0 },
          why,
        );
        assert.equal(row.http?.status503WithoutRetryAfter, 0, `${name}: every 503 carries Retry-After`);
      }
      assert.equal(result.code, 0, result.stderr.slice(-4_000));
      t.diagnostic(`figure: chaos_quick duration_s=${report.durationSeconds}`);
      isPassed = true;
    } finally {
      if (isPassed) rmSync(dir, { recursive: true, force: true });
      else t.diagnostic(`the run's JSON and the logs of its rows with a defect are kept in ${dir}`);
    }
  });
});
