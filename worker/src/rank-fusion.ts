/**
 * Weighted reciprocal rank fusion of the vector and lexical candidate lists: a chunk ranked r adds
 * w / (rrfK + r), w = vectorWeight on the vector side and 1 on the lexical side, so agreement
 * between the sides counts and neither side's score scale does (cosine similarity and bm25 are not
 * comparable). The fused score is divided by its maximum, (vectorWeight + 1) / (rrfK + 1), so it
 * lies in (0, 1]: 1 means ranked first by both sides.
 */
export interface SideHit {
  chunkId: number;
  score: number;
}

export interface FusedHit {
  chunkId: number;
  score: number;
  vectorScore: number | null;
  lexicalScore: number | null;
  vectorRank: number | null; // 1-based
  lexicalRank: number | null;
}

/** Both lists best first; returns every chunk of either, best fused first (ties: better lexical rank, then vector rank, then chunk id). */
export interface FusionWeights {
  rrfK: number;
  vectorWeight: number; // the lexical side's weight is 1
}

export function fuseRanks(vector: readonly SideHit[], lexical: readonly SideHit[], { rrfK, vectorWeight }: FusionWeights): FusedHit[] {
  const fused = new Map<number, FusedHit>();
  const entry = (chunkId: number): FusedHit => {
    const found = fused.get(chunkId);
    if (found) return found;
    const created: FusedHit = { chunkId, score: 0, vectorScore: null, lexicalScore: null, vectorRank: null, lexicalRank: null };
    fused.set(chunkId, created);
    return created;
  };
  vector.forEach((hit, i) => {
    const e = entry(hit.chunkId);
    if (e.vectorRank !== null) return; // a side lists a chunk once; keep its best rank
    e.vectorRank = i + 1;
    e.vectorScore = hit.score;
  });
  lexical.forEach((hit, i) => {
    const e = entry(hit.chunkId);
    if (e.lexicalRank !== null) return;
    e.lexicalRank = i + 1;
    e.lexicalScore = hit.score;
  });
  const maximum = (vectorWeight + 1) / (rrfK + 1);
  for (const e of fused.values()) {
    const rrf = (e.vectorRank === null ? 0 : vectorWeight / (rrfK + e.vectorRank)) + (e.lexicalRank === null ? 0 : 1 / (rrfK + e.lexicalRank));
    e.score = Math.min(1, rrf / maximum); // rounding may leave a first place on both sides at 1 + 1e-16
  }
  const rank = (value: number | null) => value ?? Infinity;
  return [...fused.values()].sort(
    (a, b) => b.score - a.score || rank(a.lexicalRank) - rank(b.lexicalRank) || rank(a.vectorRank) - rank(b.vectorRank) || a.chunkId - b.chunkId,
  );
}

/** One side's list as fused hits, its own score kept as `score` (vector-only and lexical-only modes). */
export function singleSide(hits: readonly SideHit[], side: 'vector' | 'lexical'): FusedHit[] {
  return hits.map((hit, i) => ({
    chunkId: hit.chunkId,
    score: hit.score,
    vectorScore: side === 'vector' ? hit.score : null,
    lexicalScore: side === 'lexical' ? hit.score : null,
    vectorRank: side === 'vector' ? i + 1 : null,
    lexicalRank: side === 'lexical' ? i + 1 : null,
  }));
}
