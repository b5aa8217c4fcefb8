/**
 * Seeded vectors with the structure of text embeddings, shared by the recall test and the benchmark
 * (one implementation, so both quote recall on the same data). x = W·z + 0.3·g, normalised, with z of
 * dimension 32: text embeddings have a low intrinsic dimension, while uniform random vectors at d=384
 * defeat any ANN index, so recall on them means nothing.
 * The basis W comes from `basisSeed`, the points from `seed`: queries drawn with another seed and the
 * same basis come from the same distribution as the indexed points but are not among them.
 */

export function lowRankVectors(count: number, dimension: number, seed: number, basisSeed = 1): number[][] {
  const basisRandom = gaussianSource(basisSeed);
  const random = gaussianSource(seed);
  const rank = 32;
  const basis = Array.from({ length: rank }, () => Float64Array.from({ length: dimension }, basisRandom));
  return Array.from({ length: count }, () => {
    const v = new Float64Array(dimension);
    for (let r = 0; r < rank; r++) {
      const z = random();
      const row = basis[r] ?? new Float64Array(dimension);
      for (let d = 0; d < dimension; d++) v[d] = (v[d] ?? 0) + z * (row[d] ?? 0);
    }
    let norm = 0;
    for (let d = 0; d < dimension; d++) {
      v[d] = (v[d] ?? 0) + 0.3 * random();
      norm += (v[d] ?? 0) ** 2;
    }
    return Array.from(v, (x) => x / Math.sqrt(norm));
  });
}

/** Standard normal samples: mulberry32 for uniforms, then Box-Muller (one sample per pair, as the baselines did). */
function gaussianSource(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}
