/**
 * The benchmark's results as one list of figures, each with its unit, the raw-library baseline taken
 * in the same run, the ratio and difference between the two, and the target with whether it
 * was met. Figures that could not be measured are listed as skipped with the reason, never dropped.
 */
import { round, type Summary } from './summary.js';

export type Section =
  | '1 ingest'
  | '2 search'
  | '3 sync'
  | '4 push'
  | '5 quality'
  | '6 filtered search'
  | '7 memory and start-up'
  | '8 collections'
  | '9 capacity'
  | '10 beside pgvector';

export interface Baseline {
  name: string; // what the raw side is: "hnswlib searchKnn, same index and query vectors"
  value: number;
  unit: string;
  summary?: Summary;
}

export interface Target {
  text: string; // as the issue states it: "≤ raw + 1.5 ms at 100k"
  isMet: boolean | null; // null: not checked in this run
}

export interface Figure {
  id: string; // stable key for comparing runs: "search.http.p50.100000"
  section: Section;
  name: string;
  unit: string;
  value: number;
  summary?: Summary;
  raw?: Baseline;
  ratio?: number; // value ÷ raw.value
  difference?: number; // value − raw.value, in unit
  target?: Target;
  notes?: string;
  details?: Record<string, unknown>; // anything else worth keeping in the JSON
}

export interface Skipped {
  id: string;
  section: Section;
  name: string;
  reason: string;
}

export type FigureInput = Omit<Figure, 'ratio' | 'difference'> & { withDifference?: boolean };

export class FigureBook {
  readonly figures: Figure[] = [];
  readonly skipped: Skipped[] = [];

  /** Adds a figure; with a baseline the ratio is computed here, and the difference when asked for. */
  add(input: FigureInput): Figure {
    const { withDifference = false, ...rest } = input;
    const figure: Figure = { ...rest, value: round(rest.value) };
    if (rest.raw !== undefined) {
      figure.raw = { ...rest.raw, value: round(rest.raw.value) };
      if (rest.raw.value !== 0) figure.ratio = round(rest.value / rest.raw.value);
      if (withDifference) figure.difference = round(rest.value - rest.raw.value);
    }
    this.figures.push(figure);
    return figure;
  }

  skip(entry: Skipped): void {
    this.skipped.push(entry);
  }
}

export function target(text: string, isMet: boolean): Target {
  return { text, isMet };
}
