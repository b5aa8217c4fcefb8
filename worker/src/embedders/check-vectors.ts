/**
 * The gate every embedder's output passes before anything is written. A vector holding NaN or Infinity, with
 * a zero norm or the wrong dimension would silently corrupt the HNSW index and every search after it, so it is refused
 * here, naming the vector and what was wrong. What passes comes back L2-normalised as plain arrays, the only form
 * hnswlib-node accepts.
 */

/** An embedder returned something that is not a batch of usable vectors; the message names the vector and the fault. */
export class InvalidVectorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Returns `expectedCount` vectors of `dimension` finite numbers, each scaled to unit length, or throws InvalidVectorError. */
export function checkVectors(vectors: unknown, expectedCount: number, dimension: number): number[][] {
  if (!Array.isArray(vectors)) {
    throw new InvalidVectorError(`expected an array of ${expectedCount} vectors, got ${describe(vectors)}`);
  }
  const list: readonly unknown[] = vectors;
  if (list.length !== expectedCount) {
    throw new InvalidVectorError(`expected ${expectedCount} vectors, got ${list.length}`);
  }
  const checked: number[][] = [];
  for (let index = 0; index < list.length; index++) {
    checked.push(normalise(checkVector(list[index], index, dimension), index));
  }
  return checked;
}

/** Checks shape and finiteness; indexes with a loop, since a sparse array's holes must be refused, not skipped. */
function checkVector(vector: unknown, index: number, dimension: number): readonly number[] {
  if (!Array.isArray(vector)) {
    throw new InvalidVectorError(`vector ${index} is not a plain array (got ${describe(vector)})`);
  }
  const values: readonly unknown[] = vector;
  if (values.length !== dimension) {
    throw new InvalidVectorError(`vector ${index} has ${values.length} dimensions, expected ${dimension}`);
  }
  const numbers: number[] = [];
  for (let j = 0; j < values.length; j++) {
    const value = values[j];
    if (typeof value !== 'number') {
      throw new InvalidVectorError(`vector ${index} element ${j} is not a number (got ${describe(value)})`);
    }
    if (!Number.isFinite(value)) {
      throw new InvalidVectorError(`vector ${index} element ${j} is ${value}`);
    }
    numbers.push(value);
  }
  return numbers;
}

/**
 * Scales by the largest magnitude before squaring, so neither huge (1e200) nor subnormal (1e-320) components overflow or
 * underflow the norm: a vector is refused as zero only when every component is exactly zero.
 */
function normalise(vector: readonly number[], index: number): number[] {
  let maxAbs = 0;
  for (const value of vector) maxAbs = Math.max(maxAbs, Math.abs(value));
  if (maxAbs === 0) throw new InvalidVectorError(`vector ${index} has zero norm`);
  let sumOfSquares = 0;
  for (const value of vector) {
    const scaled = value / maxAbs;
    sumOfSquares += scaled * scaled;
  }
  const scaledNorm = Math.sqrt(sumOfSquares);
  return vector.map((value) => value / maxAbs / scaledNorm);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return value.constructor?.name ?? 'an object';
  return typeof value;
}
