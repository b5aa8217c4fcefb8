/** The one table the chaos command prints (Markdown, so it can go into the README as it is). */
import type { Row } from './run-scenario.js';

const HEADER = [
  'scenario',
  'backend',
  'runs',
  'faults',
  'documents / questions / removals acknowledged',
  'lost',
  'duplicated',
  'index–SQL divergence',
  'wrong statuses',
  '500',
  '503 (all with Retry-After)',
  '504',
  'failed with a reason',
];

export function renderTable(rows: readonly Row[]): string {
  const lines = [`| ${HEADER.join(' | ')} |`, `| ${HEADER.map(() => '---').join(' | ')} |`];
  for (const row of rows) {
    if (row.skipped !== undefined) {
      lines.push(`| ${row.scenario} | ${row.backend} | skipped: ${row.skipped} |${' |'.repeat(HEADER.length - 3)}`);
      continue;
    }
    const http = row.http;
    const retryAfter = http && http.status503WithoutRetryAfter > 0 ? ` (${http.status503WithoutRetryAfter} without)` : '';
    lines.push(
      `| ${[
        row.scenario,
        row.backend,
        row.runs,
        row.faults,
        `${row.documents} / ${row.questions} / ${row.removals}`,
        row.lost,
        row.duplicated,
        row.divergence,
        row.wrong,
        http?.status500 ?? 0,
        `${http?.status503 ?? 0}${retryAfter}`,
        http?.status504 ?? 0,
        row.failedDocuments,
      ].join(' | ')} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The notes under the table: per row, what the faults did (kills landed, rebuilds, failed checkpoint writes). */
export function renderNotes(rows: readonly Row[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    const notes = Object.entries(row.notes).map(([key, value]) => `${key} ${value}`);
    if (row.error !== undefined) lines.push(`- ${row.scenario}/${row.backend}: STOPPED BY AN ERROR after ${row.runs} runs (see details)`);
    if (row.skipped === undefined) lines.push(`- ${row.scenario}/${row.backend} (${Math.round(row.durationMs / 1000)} s): ${notes.join('; ')}`);
    for (const detail of row.details.slice(0, 10)) lines.push(`  - ${detail}`);
    if (row.logs) lines.push(`  - logs: ${row.logs}`);
  }
  return `${lines.join('\n')}\n`;
}
