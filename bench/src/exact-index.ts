/**
 * Exact cosine top-k by brute force over one row-major Float32Array: the ground truth that recall is
 * measured against, and the "exact search" baseline of the retrieval task. Rows and queries are
 * normalised, so the dot product is the cosine similarity.
 */

export interface ExactHit {
  label: number;
  score: number;
}

export class ExactIndex {
  private readonly rows: Float32Array;
  private readonly labels: Float64Array;
  private readonly rowOf = new Map<number, number>();

  constructor(
    vectors: readonly (readonly number[])[],
    labels: readonly number[],
    readonly dimension: number,
  ) {
    if (vectors.length !== labels.length) throw new RangeError(`${vectors.length} vectors but ${labels.length} labels`);
    this.rows = new Float32Array(vectors.length * dimension);
    vectors.forEach((vector, row) => this.rows.set(normalised(vector), row * dimension));
    this.labels = Float64Array.from(labels);
    labels.forEach((label, row) => this.rowOf.set(label, row));
  }

  /** The cosine similarity of the query and the row with this label (NaN for an unknown label). */
  score(query: readonly number[], label: number): number {
    const row = this.rowOf.get(label);
    if (row === undefined) return Number.NaN;
    return dot(this.rows, row * this.dimension, Float32Array.from(normalised(query)), this.dimension);
  }

  get size(): number {
    return this.labels.length;
  }

  /** The k best rows, best first; with `allowed`, only rows whose label is in it. */
  topK(query: readonly number[], k: number, allowed?: ReadonlySet<number>): ExactHit[] {
    const q = Float32Array.from(normalised(query));
    const best: ExactHit[] = [];
    const d = this.dimension;
    for (let row = 0; row < this.labels.length; row++) {
      const label = this.labels[row] ?? -1;
      if (allowed !== undefined && !allowed.has(label)) continue;
      const score = dot(this.rows, row * d, q, d);
      if (best.length === k && score <= (best[k - 1]?.score ?? -Infinity)) continue;
      insertSorted(best, { label, score }, k);
    }
    return best;
  }
}

function dot(rows: Float32Array, offset: number, q: Float32Array, d: number): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let e = 0;
  let i = 0;
  for (; i + 3 < d; i += 4) {
    a += (rows[offset + i] ?? 0) * (q[i] ?? 0);
    b += (rows[offset + i + 1] ?? 0) * (q[i + 1] ?? 0);
    c += (rows[offset + i + 2] ?? 0) * (q[i + 2] ?? 0);
    e += (rows[offset + i + 3] ?? 0) * (q[i + 3] ?? 0);
  }
  for (; i < d; i++) a += (rows[offset + i] ?? 0) * (q[i] ?? 0);
  return a + b + c + e;
}

function insertSorted(best: ExactHit[], hit: ExactHit, k: number): void {
  let at = best.length;
  while (at > 0 && (best[at - 1]?.score ?? Infinity) < hit.score) at--;
  best.splice(at, 0, hit);
  if (best.length > k) best.pop();
}

function normalised(vector: readonly number[]): number[] {
  let norm = 0;
  for (const value of vector) norm += value * value;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return vector.map((value) => value * scale);
}

/**
 * Recall@k of `found` against the exact top k, counting ties: a found label whose exact score is at
 * least the k-th best score (less a float32 rounding margin) is as good as any label in the truth, so
 * duplicate vectors (identical chunk texts) do not count as misses.
 */
export function recallAt(found: readonly number[], truth: readonly ExactHit[], scoreOf: (label: number) => number): number {
  if (truth.length === 0) return 1;
  const kth = truth[truth.length - 1]?.score ?? -Infinity;
  const wanted = new Set(truth.map((hit) => hit.label));
  const good = found.slice(0, truth.length).filter((label) => wanted.has(label) || scoreOf(label) >= kth - 1e-6);
  return good.length / truth.length;
}
