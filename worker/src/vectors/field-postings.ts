/**
 * One declared metadata field of a collection's payload index: each chunk's value of the field
 * (absent when the field is missing), postings from each scalar value to the chunks holding exactly
 * it, postings from each scalar to the chunks whose value is a list containing it ($contains), and,
 * by the declared type, the distinct numbers (number) or strings (keyword) in order for ranges.
 * Every value is indexed whatever its type, so a filter answered from here is exactly the SQL one;
 * the type only decides which values are kept in order (a range on the other kind reads them all).
 */
import { compareCodePoints, MISSING, type WherePath, type WhereScalar } from '../../../shared/src/db/where.js';

export type PayloadType = 'keyword' | 'number' | 'bool';
export type RangeKind = 'gt' | 'gte' | 'lt' | 'lte';

/** A posting key per JSON scalar, typed: the number 1 and the string "1" are different keys. */
export function scalarKey(value: WhereScalar): string {
  if (typeof value === 'string') return `s${value}`;
  if (typeof value === 'number') return `n${value === 0 ? 0 : value}`;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return 'z';
}

function isScalar(value: unknown): value is WhereScalar {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

export class FieldPostings {
  private readonly values = new Map<number, unknown>();
  private readonly equal = new Map<string, Set<number>>();
  private readonly contained = new Map<string, Set<number>>();
  private readonly numbers: number[] = []; // distinct numbers holding an equal posting, ascending (type number)
  private readonly strings: string[] = []; // distinct strings, by code point (type keyword)

  constructor(
    readonly path: WherePath,
    readonly type: PayloadType,
  ) {}

  /** Chunks where the field is present. */
  presentLabels(): Iterable<number> {
    return this.values.keys();
  }

  get presentCount(): number {
    return this.values.size;
  }

  valueOf(label: number): unknown {
    return this.values.has(label) ? this.values.get(label) : MISSING;
  }

  /** Sets a chunk's value (MISSING: the field is absent), replacing what it had. */
  set(label: number, value: unknown): void {
    this.remove(label);
    if (value === MISSING || value === undefined) return;
    this.values.set(label, value);
    if (isScalar(value)) this.post(this.equal, value, label, true);
    else if (Array.isArray(value)) for (const item of value as unknown[]) if (isScalar(item)) this.post(this.contained, item, label, false);
  }

  remove(label: number): void {
    if (!this.values.has(label)) return;
    const value = this.values.get(label);
    this.values.delete(label);
    if (isScalar(value)) this.unpost(this.equal, value, label, true);
    else if (Array.isArray(value)) for (const item of value as unknown[]) if (isScalar(item)) this.unpost(this.contained, item, label, false);
  }

  equalTo(value: WhereScalar): ReadonlySet<number> | undefined {
    return this.equal.get(scalarKey(value));
  }

  containing(value: WhereScalar): ReadonlySet<number> | undefined {
    return this.contained.get(scalarKey(value));
  }

  /** The equal postings of the values in the range, or undefined when the type keeps no order of the bound's kind. */
  inRange(kind: RangeKind, bound: string | number): Array<ReadonlySet<number>> | undefined {
    const sorted: ReadonlyArray<string | number> | undefined =
      typeof bound === 'number' ? (this.type === 'number' ? this.numbers : undefined) : this.type === 'keyword' ? this.strings : undefined;
    if (sorted === undefined) return undefined;
    const below = kind === 'lt' || kind === 'lte';
    const at = lowerBound(sorted, bound, kind === 'gt' || kind === 'lte'); // first index past the bound when it is excluded above/included below
    const keys = below ? sorted.slice(0, at) : sorted.slice(at);
    return keys.flatMap((key) => {
      const posting = this.equal.get(scalarKey(key));
      return posting ? [posting] : [];
    });
  }

  private post(postings: Map<string, Set<number>>, value: WhereScalar, label: number, isEqual: boolean): void {
    const key = scalarKey(value);
    let posting = postings.get(key);
    if (!posting) {
      posting = new Set();
      postings.set(key, posting);
      if (isEqual) this.order(value, true);
    }
    posting.add(label);
  }

  private unpost(postings: Map<string, Set<number>>, value: WhereScalar, label: number, isEqual: boolean): void {
    const key = scalarKey(value);
    const posting = postings.get(key);
    if (!posting) return;
    posting.delete(label);
    if (posting.size > 0) return;
    postings.delete(key);
    if (isEqual) this.order(value, false);
  }

  /** Keeps the distinct values of the declared kind in order as postings appear and empty. */
  private order(value: WhereScalar, isNew: boolean): void {
    const sorted: Array<string | number> | undefined =
      typeof value === 'number' && this.type === 'number' ? this.numbers : typeof value === 'string' && this.type === 'keyword' ? this.strings : undefined;
    if (sorted === undefined) return;
    const at = lowerBound(sorted, value as string | number, false);
    if (isNew) sorted.splice(at, 0, value as string | number);
    else if (sorted[at] === value) sorted.splice(at, 1);
  }
}

/** The first index whose value is ≥ `bound` (> `bound` when `after`), numbers numerically, strings by code point. */
function lowerBound(sorted: ReadonlyArray<string | number>, bound: string | number, after: boolean): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const order = compare(sorted[mid] as string | number, bound);
    if (order < 0 || (after && order === 0)) low = mid + 1;
    else high = mid;
  }
  return low;
}

function compare(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  return compareCodePoints(String(a), String(b));
}
