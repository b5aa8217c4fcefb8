/**
 * How a filtered search answered from the payload index runs, chosen from the estimated number of
 * matching chunks (payload-index.ts) against the live ones, by what each way costs:
 * - post-filter: an unfiltered HNSW search for k / selectivity × POST_FILTER_MARGIN candidates
 *   (ef raised to that many when above HNSW_EF_SEARCH), kept when they match. For a broad filter
 *   (≥ 15 % with k 10, margin 3 and ef 200) it costs about an unfiltered search; its cost then
 *   grows with the candidates, about linearly (measured: ef 400 about 2×, 1,600 about 8×).
 * - exact: the matches listed from the postings and scored one by one (ExactScan). Measured, one
 *   candidate of an HNSW search costs about as much as scoring EXACT_IDS_PER_CANDIDATE chunks, so
 *   exact wins while estimate ≤ that × the candidates (always capped by FILTER_EXACT_MAX_IDS).
 * - walk: HNSW with the filter as a callback. In hnswlib-node each visited candidate is a call
 *   into JS, and it measured slower than either of the others at every selectivity (about 10 ms at
 *   10 %, 36 ms at 1 % of 30k chunks, against 1.4 ms unfiltered), so it is only the way out when
 *   neither fits: a narrow filter over a collection too large for either bound.
 * A post-filter that keeps fewer than k falls back to the walk (and that to the exact scan), so k
 * results come back whenever k chunks match.
 */
export type FilterPlan = { kind: 'exact' } | { kind: 'post-filter'; candidates: number } | { kind: 'walk' };

// Candidates per expected match, over k / selectivity: the far end of an HNSW answer is its least
// exact part, so the filtered top k needs more than k / selectivity. Measured on low-rank vectors
// at a 10 % filter of 100k chunks, recall@10 within the filter: margin 2 0.92, 3 0.97, 4 0.98,
// for 1.3×, 1.8× and 2.7× an unfiltered search (30k: margin 2 0.97, 3 0.997).
export const POST_FILTER_MARGIN = 3;
// Most candidates a post-filter asks for, in multiples of ef: beyond, its search costs more than a walk's.
export const POST_FILTER_MAX_EF_MULTIPLE = 10;
// Measured on 384-dimension vectors: an ef-200 search ≈ 1.4 ms, exact scores of 1,000 chunks ≈ 1.8–3 ms.
export const EXACT_IDS_PER_CANDIDATE = 3;

export function choosePlan(input: { estimate: number; live: number; k: number; ef: number; exactMax: number }): FilterPlan {
  const { estimate, live, k, ef, exactMax } = input;
  if (estimate <= 0) return { kind: 'exact' };
  const candidates = Math.max(k, Math.ceil(((k * live) / estimate) * POST_FILTER_MARGIN));
  const searchCost = Math.max(ef, candidates);
  if (estimate <= exactMax && estimate <= EXACT_IDS_PER_CANDIDATE * searchCost) return { kind: 'exact' };
  if (candidates <= POST_FILTER_MAX_EF_MULTIPLE * ef) return { kind: 'post-filter', candidates };
  return estimate <= exactMax ? { kind: 'exact' } : { kind: 'walk' };
}
