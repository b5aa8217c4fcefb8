/**
 * The in-process side of one synthetic size, on the worker's own VectorIndex loaded from the
 * checkpoint the worker wrote, next to hnswlib-node used directly on the same graph:
 * search latency (interleaved, same query vectors), recall@10 against exact search, filtered search
 * at each selectivity (the real planner: exact scan or HNSW with a filter callback), sync() with
 * nothing new and after 1 / 100 new chunks, and what the replaced system did per read: reload the
 * index file, then search.
 */
import type { Knex } from 'knex';
import { chunkIdsMatching } from '../../shared/src/db/chunks-repo.js';
import { createWhereSchema } from '../../shared/src/db/where.js';
import { lowRankVectors } from '../../test/support/low-rank-vectors.js';
import { VectorIndex, type IndexIdentity, type SearchHitId } from '../../worker/src/vectors/vector-index.js';
import type { StackHandle } from './bench-context.js';
import { recallAt, type ExactHit, type ExactIndex } from './exact-index.js';
import { createEmptyRawIndex, searchLabels, type Hnsw } from './raw-index.js';
import { addSyntheticDocument, selectivityWhere, UNDECLARED_FIELD } from './synthetic-documents.js';
import { K, SELECTIVITIES } from './synthetic-http.js';

export interface InProcessInput {
  handle: StackHandle;
  db: Knex;
  identity: IndexIdentity;
  raw: Hnsw;
  rawFile: string; // the raw index written to disk: what the replaced system read before every search
  textQueries: number[][]; // builtin vectors of the HTTP query texts
  lowRankQueries: number[][];
  exact: ExactIndex;
  truth: ExactHit[][]; // exact top K of each low-rank query
  syncSamples: number;
  syncAddRepeats: number;
}

export interface FilteredResult {
  percent: number;
  allowed: number; // chunk ids the filter resolved to
  resolveMs: number[]; // chunkIdsMatching on the undeclared field: the SQL half of the SQL path
  searchMs: number[]; // VectorIndex.searchWithin with those ids (the SQL path, without its SQL half)
  payloadMs: number[]; // VectorIndex.searchWhere on the declared field: the whole filtered search
  unfilteredMs: number[]; // VectorIndex.search without, same queries, interleaved
  recall: number; // SQL path, against exact top K within the allowed ids
  payloadRecall: number; // payload path, the same
  plans: Record<string, number>; // how often searchWhere took each plan
  shortAnswers: number; // payload-path answers with fewer than K hits
}

export interface InProcessResult {
  loadMs: number;
  loadSource: string;
  indexSearchMs: number[];
  rawSearchMs: number[];
  indexRecall: number;
  rawRecall: number;
  filtered: FilteredResult[];
  syncNothingMs: number[];
  syncAdd1Ms: number[];
  syncAdd100Ms: number[];
  syncReadMs: number[]; // sync() + search: one read in colmeia
  reloadReadMs: number[]; // readIndex + search: one read in the replaced system
  reloadOnlyMs: number[];
}

const SEARCH_PASSES_TARGET = 1_000; // samples per side of the interleaved search comparison
const FILTERED_BUDGET_MS = 10_000; // per selectivity, after at least 20 queries: a slow plan must not stall the run

export async function measureInProcess(input: InProcessInput): Promise<InProcessResult> {
  const { handle, db, identity, raw } = input;
  const loadStarted = performance.now();
  const index = await VectorIndex.load(handle.config, db, identity, handle.logger);
  const loadMs = performance.now() - loadStarted;
  await index.copyVectors(); // as a worker does once all its collections are loaded: the filtered figures use the copies
  try {
    raw.setEf(handle.config.HNSW_EF_SEARCH);
    const search = compareSearch(index, raw, input.textQueries);
    const indexRecall = mean(
      input.lowRankQueries.map((q, i) =>
        recallAt(
          index.search(q, K).map((hit) => hit.chunkId),
          input.truth[i] ?? [],
          (label) => input.exact.score(q, label),
        ),
      ),
    );
    const rawRecall = mean(input.lowRankQueries.map((q, i) => recallAt(searchLabels(raw, q, K), input.truth[i] ?? [], (label) => input.exact.score(q, label))));
    const filtered: FilteredResult[] = [];
    for (const percent of SELECTIVITIES) filtered.push(await measureFiltered(input, index, percent));
    const sync = await measureSync(input, index);
    return { loadMs, loadSource: index.startup.source, ...search, indexRecall, rawRecall, filtered, ...sync };
  } finally {
    await index.close();
  }
}

function compareSearch(index: VectorIndex, raw: Hnsw, queries: readonly number[][]): { indexSearchMs: number[]; rawSearchMs: number[] } {
  const indexSearchMs: number[] = [];
  const rawSearchMs: number[] = [];
  const passes = Math.max(1, Math.ceil(SEARCH_PASSES_TARGET / queries.length));
  for (let i = 0; i < Math.min(50, queries.length); i++) index.search(queries[i] ?? [], K); // warm-up
  for (let pass = 0; pass < passes; pass++) {
    for (const query of queries) {
      let t = performance.now();
      index.search(query, K);
      indexSearchMs.push(performance.now() - t);
      t = performance.now();
      raw.searchKnn(query, K);
      rawSearchMs.push(performance.now() - t);
    }
  }
  return { indexSearchMs, rawSearchMs };
}

async function measureFiltered(input: InProcessInput, index: VectorIndex, percent: number): Promise<FilteredResult> {
  const { config } = input.handle;
  const schema = createWhereSchema({ maxDepth: config.MAX_FILTER_DEPTH, maxConditions: config.MAX_FILTER_CONDITIONS, maxInList: config.MAX_IN_LIST });
  const declared = schema.parse(selectivityWhere(percent));
  const undeclared = schema.parse(selectivityWhere(percent, UNDECLARED_FIELD));
  const resolveMs: number[] = [];
  let allowed: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    allowed = await chunkIdsMatching(input.db, undeclared);
    resolveMs.push(performance.now() - t);
  }
  const allowedSet = new Set(allowed);
  const times = { searchMs: [] as number[], payloadMs: [] as number[], unfilteredMs: [] as number[] };
  const recalls: number[] = [];
  const payloadRecalls: number[] = [];
  const plans: Record<string, number> = {};
  let shortAnswers = 0;
  const deadline = performance.now() + FILTERED_BUDGET_MS;
  const recallOf = (hits: readonly SearchHitId[], query: number[]) =>
    recallAt(
      hits.map((hit) => hit.chunkId),
      input.exact.topK(query, K, allowedSet),
      (label) => (allowedSet.has(label) ? input.exact.score(query, label) : -Infinity),
    );
  for (const [i, query] of input.lowRankQueries.entries()) {
    if (i >= 20 && performance.now() > deadline) break;
    // The payload path and the unfiltered search side by side, in alternating order: the exact
    // scan of the SQL path reads megabytes of vectors and would leave whichever came next a colder cache.
    const timePayload = async () => {
      const t = performance.now();
      const answer = (await index.searchWhere(query, K, declared)) ?? [];
      times.payloadMs.push(performance.now() - t);
      return answer;
    };
    const timeUnfiltered = () => {
      const t = performance.now();
      index.search(query, K);
      times.unfilteredMs.push(performance.now() - t);
    };
    let planned: SearchHitId[];
    if (i % 2 === 0) {
      planned = await timePayload();
      timeUnfiltered();
    } else {
      timeUnfiltered();
      planned = await timePayload();
    }
    const plan = index.lastFilterPlan ?? 'none';
    plans[plan] = (plans[plan] ?? 0) + 1;
    if (planned.length < K) shortAnswers++;
    const t = performance.now();
    const hits = await index.searchWithin(query, K, allowed);
    times.searchMs.push(performance.now() - t);
    recalls.push(recallOf(hits, query));
    payloadRecalls.push(recallOf(planned, query));
  }
  return { percent, allowed: allowed.length, resolveMs, ...times, recall: mean(recalls), payloadRecall: mean(payloadRecalls), plans, shortAnswers };
}

async function measureSync(
  input: InProcessInput,
  index: VectorIndex,
): Promise<Pick<InProcessResult, 'syncNothingMs' | 'syncAdd1Ms' | 'syncAdd100Ms' | 'syncReadMs' | 'reloadReadMs' | 'reloadOnlyMs'>> {
  for (let i = 0; i < 100; i++) await index.sync(); // warm-up: prepared statements, JIT
  const syncNothingMs: number[] = [];
  for (let i = 0; i < input.syncSamples; i++) {
    const t = performance.now();
    await index.sync();
    syncNothingMs.push(performance.now() - t);
  }
  const repeats = input.syncAddRepeats;
  const fresh = lowRankVectors(repeats * 101, input.identity.dimension, 4242);
  const syncAdd1Ms: number[] = [];
  const syncAdd100Ms: number[] = [];
  for (let r = 0; r < repeats; r++) {
    await addSyntheticDocument(input.db, `sync-1-${r}`, fresh.slice(r, r + 1));
    let t = performance.now();
    await index.sync();
    syncAdd1Ms.push(performance.now() - t);
    await addSyntheticDocument(input.db, `sync-100-${r}`, fresh.slice(repeats + r * 100, repeats + (r + 1) * 100));
    t = performance.now();
    await index.sync();
    syncAdd100Ms.push(performance.now() - t);
  }
  // One read each way, interleaved: colmeia syncs then searches; the replaced system reloaded the file first.
  const reloader = createEmptyRawIndex(input.identity.dimension);
  const reloads = Math.min(30, Math.max(8, Math.round(2_000_000 / Math.max(1, index.size))));
  const syncReadMs: number[] = [];
  const reloadReadMs: number[] = [];
  const reloadOnlyMs: number[] = [];
  for (let r = 0; r < reloads; r++) {
    const query = input.textQueries[r % input.textQueries.length] ?? [];
    let t = performance.now();
    await index.sync();
    index.search(query, K);
    syncReadMs.push(performance.now() - t);
    t = performance.now();
    await reloader.readIndex(input.rawFile); // into the same object: the addon frees the previous index first
    reloadOnlyMs.push(performance.now() - t);
    reloader.setEf(input.handle.config.HNSW_EF_SEARCH);
    reloader.searchKnn(query, K);
    reloadReadMs.push(performance.now() - t);
  }
  return { syncNothingMs, syncAdd1Ms, syncAdd100Ms, syncReadMs, reloadReadMs, reloadOnlyMs };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((total, value) => total + value, 0) / values.length;
}
