/**
 * How a filtered search answered from the payload index runs, chosen from the estimated number of
 * matching chunks (payload-index.ts) against the live ones:
 * - few (≤ FILTER_EXACT_MAX_IDS): the matches are listed from the postings and scored exactly;
 * - broad: an unfiltered HNSW search for k / selectivity × POST_FILTER_MARGIN candidates, kept when
 *   they match, as long as that many fit in the search's ef: it costs what an unfiltered search
 *   costs. With ef 200 and k 10 that is from 10 % of the chunks up;
 * - in between, or when the broad search kept fewer than k: HNSW walking with the filter as a
 *   callback, whose cost grows as the filter narrows (each rejected candidate is a call into JS).
 */
export type FilterPlan = { kind: 'exact' } | { kind: 'post-filter'; candidates: number } | { kind: 'walk' };

// Candidates per expected match, over k / selectivity: the matches of a broad filter are not spread
// evenly over a query's neighbourhood, and a shortfall costs a second search (measured: at 10 % and
// margin 2 about one query in 20 fell back; the bench README has the figures).
export const POST_FILTER_MARGIN = 2;

export function choosePlan(input: { estimate: number; live: number; k: number; ef: number; exactMax: number }): FilterPlan {
  const { estimate, live, k, ef, exactMax } = input;
  if (estimate <= exactMax) return { kind: 'exact' };
  const candidates = Math.ceil(((k * live) / estimate) * POST_FILTER_MARGIN);
  if (candidates <= Math.max(ef, k)) return { kind: 'post-filter', candidates };
  return { kind: 'walk' };
}
