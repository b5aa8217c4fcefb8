/**
 * The vectors exact filtered search ranks by, held compactly (DESIGN.md §5): each vector is scaled
 * to unit length and quantised to int8 with a scale of its own, in one contiguous slab that doubles
 * when full, with a label → slot map and freed slots reused. 384 dimensions take 392 bytes a vector
 * instead of the 1.5 KiB of a float32 copy (plus a JS object each).
 *
 * Beside each vector the slab keeps the length of its quantisation error e = u − scale·code, where
 * u is the unit vector. For a unit query q, |q·u − scale·(q·code)| = |q·e| ≤ |e| (Cauchy–Schwarz),
 * so `bound` caps how far the approximate cosine can be from the exact one: a caller that rescores
 * exactly every candidate whose approximate score plus its bound reaches the k-th exact score gets
 * the exact top k, whatever the data.
 */

/** A label's approximate cosine with a query: |exact − approximate| ≤ bound. */
export interface ApproximateScore {
  label: number;
  approximate: number;
  bound: number;
}

const INITIAL_SLOTS = 1_024;
const CODE_MAX = 127;
// Float64 arithmetic on float32 inputs, and the float32 query's length (1 ± 1e-7), stay far inside this.
const BOUND_SLACK = 1e-6;

export class QuantisedVectors {
  private codes = new Int8Array(0);
  private scales = new Float32Array(0);
  private bounds = new Float32Array(0);
  private readonly slotOf = new Map<number, number>();
  private readonly freeSlots: number[] = [];
  private usedSlots = 0; // slots ever handed out; those below it not in slotOf are in freeSlots
  private reservedSlots = 0; // the most reserve() asked for
  private dimension = 0; // fixed by the first vector
  private unit = new Float64Array(0); // scratch for the vector being quantised: no garbage per put

  get size(): number {
    return this.slotOf.size;
  }

  /** Bytes held by the slab's arrays (the label map aside). */
  get bytes(): number {
    return this.codes.byteLength + this.scales.byteLength + this.bounds.byteLength;
  }

  has(label: number): boolean {
    return this.slotOf.has(label);
  }

  /**
   * Makes room for `slots` vectors in one allocation. A bulk copy of known size calls it first: grown
   * by doubling instead, each replaced slab stays resident until V8's next full GC (≈37 MiB at 100k).
   */
  reserve(slots: number): void {
    this.reservedSlots = Math.max(this.reservedSlots, slots);
    if (this.dimension > 0 && slots > this.scales.length) this.grow(slots); // else the first put sizes it
  }

  /** Stores (or replaces) the vector of `label`; its values are taken as float32, as the chunks table holds them. */
  put(label: number, embedding: ArrayLike<number>): void {
    if (this.dimension === 0) {
      this.dimension = embedding.length;
      this.unit = new Float64Array(embedding.length);
    }
    if (embedding.length !== this.dimension) throw new Error(`vector of ${embedding.length} dimensions, the slab holds ${this.dimension}`);
    const slot = this.slotOf.get(label) ?? this.takeSlot();
    this.slotOf.set(label, slot);
    this.quantise(slot, embedding);
  }

  delete(label: number): void {
    const slot = this.slotOf.get(label);
    if (slot === undefined) return;
    this.slotOf.delete(label);
    this.freeSlots.push(slot);
  }

  /**
   * The approximate cosine of unit-length `query` with `label`'s vector and how far it can be from
   * the exact one; undefined when the slab lacks the label. One map lookup for both.
   */
  score(query: Float32Array, label: number): ApproximateScore | undefined {
    const slot = this.slotOf.get(label);
    if (slot === undefined) return undefined;
    const { codes, dimension } = this;
    const base = slot * dimension;
    let dotProduct = 0;
    for (let i = 0; i < dimension; i++) dotProduct += (query[i] ?? 0) * (codes[base + i] ?? 0);
    return { label, approximate: dotProduct * (this.scales[slot] ?? 0), bound: this.bounds[slot] ?? 0 };
  }

  private takeSlot(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.usedSlots === this.scales.length) this.grow(this.reservedSlots);
    return this.usedSlots++;
  }

  private grow(atLeast = 0): void {
    const slots = Math.max(INITIAL_SLOTS, this.scales.length * 2, atLeast);
    const codes = new Int8Array(slots * this.dimension);
    codes.set(this.codes);
    const scales = new Float32Array(slots);
    scales.set(this.scales);
    const bounds = new Float32Array(slots);
    bounds.set(this.bounds);
    this.codes = codes;
    this.scales = scales;
    this.bounds = bounds;
  }

  private quantise(slot: number, embedding: ArrayLike<number>): void {
    const unit = toUnit(embedding, this.unit);
    let largest = 0;
    for (const value of unit) largest = Math.max(largest, Math.abs(value));
    const scale = Math.fround(largest / CODE_MAX);
    const base = slot * this.dimension;
    let errorSquared = 0;
    for (let i = 0; i < unit.length; i++) {
      const value = unit[i] ?? 0;
      const code = scale > 0 ? Math.max(-CODE_MAX, Math.min(CODE_MAX, Math.round(value / scale))) : 0;
      this.codes[base + i] = code;
      errorSquared += (value - scale * code) ** 2;
    }
    this.scales[slot] = scale;
    this.bounds[slot] = Math.sqrt(errorSquared) * (1 + BOUND_SLACK) + BOUND_SLACK; // the slack outweighs float32 rounding (6e-8)
  }
}

/** The float32 values of `embedding` scaled to unit length in float64, into `unit` (all zero when its length is 0). */
function toUnit(embedding: ArrayLike<number>, unit: Float64Array): Float64Array {
  for (let i = 0; i < unit.length; i++) unit[i] = Math.fround(embedding[i] ?? 0);
  let norm = 0;
  for (const value of unit) norm += value * value;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < unit.length; i++) unit[i] = (unit[i] ?? 0) * scale;
  return unit;
}
