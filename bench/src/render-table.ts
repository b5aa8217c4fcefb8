/** Renders the figures as the table `npm run bench` prints: figure | value | raw baseline | ratio | target | met? */
import type { Figure, FigureBook } from './figure-book.js';

const HEADERS = ['figure', 'value', 'raw baseline', 'ratio', 'target', 'met?'] as const;

export function renderTable(book: FigureBook): string {
  const rows: string[][] = [];
  let section = '';
  const bySection = [...book.figures].sort((a, b) => a.section.localeCompare(b.section, 'en', { numeric: true })); // numbered sections in order (10 after 9); stable: run order within a section
  for (const figure of bySection) {
    if (figure.section !== section) {
      section = figure.section;
      rows.push([`[${section}]`, '', '', '', '', '']);
    }
    rows.push(rowOf(figure));
  }
  const widths = HEADERS.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join(' | ')
      .trimEnd();
  const out = [line(HEADERS), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)];
  if (book.skipped.length > 0) {
    out.push('', 'skipped:');
    for (const skipped of book.skipped) out.push(`- [${skipped.section}] ${skipped.name}: ${skipped.reason}`);
  }
  return `${out.join('\n')}\n`;
}

function rowOf(figure: Figure): string[] {
  const raw = figure.raw === undefined ? '' : `${formatValue(figure.raw.value, figure.raw.unit)} (${figure.raw.name})`;
  const ratio = figure.ratio === undefined ? '' : formatRatio(figure.ratio, figure.difference, figure.unit);
  const met = figure.target === undefined ? '' : figure.target.isMet === null ? 'n/a' : figure.target.isMet ? 'yes' : 'NO';
  return [figure.name, formatValue(figure.value, figure.unit), raw, ratio, figure.target?.text ?? '', met];
}

function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : abs >= 0.01 ? 3 : 4;
  const text = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit === '' ? text : `${text} ${unit}`;
}

function formatRatio(ratio: number, difference: number | undefined, unit: string): string {
  const times = ratio !== 0 && ratio < 0.1 ? `1/${formatValue(1 / ratio, '')}` : `${formatValue(ratio, '')}×`;
  return difference === undefined ? times : `${times}, ${difference >= 0 ? '+' : ''}${formatValue(difference, unit)}`;
}
