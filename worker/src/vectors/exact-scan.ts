/**
 * Exact filtered search (DESIGN.md §5): an allowed set below FILTER_EXACT_MAX_IDS is scored by
 * cosine over every member instead of walking HNSW with a filter. hnswlib's getPoint costs ~60 µs a
 * call, so the members are ranked from int8 copies kept beside the index (QuantisedVectors), and
 * those that can still be in the top k given each copy's error bound (usually little more than k)
 * are rescored in float32 from the chunks table, one query per search, so the top k and their
 * scores are those of a float32 scan of every member.
 * Copies follow the live labels; after a checkpoint load (whose vectors this process never saw)
 * they are copied from SQL in the background, and any still missing are read once, on demand.
 */
import type { Knex } from 'knex';
import { readChunkEmbeddingBlobs, readEmbeddings } from '../../../shared/src/db/chunks-repo.js';
import type { SearchHitId } from './index-types.js';
import { QuantisedVectors, type ApproximateScore } from './quantised-vectors.js';

type IsLive = (label: number) => boolean;

const COPY_BATCH = 1_000;
const RESCORE_FACTOR = 4; // short of k after the first rescore, the next batches take RESCORE_FACTOR × k candidates ...
const RESCORE_MARGIN = 16; // ... and at least k + this many

export class ExactScan {
  private readonly vectors = new QuantisedVectors();

  constructor(
    private readonly db: Knex,
    private readonly collection?: string,
  ) {}

  /** How many vectors are copied and the bytes their slab holds (the label map aside). */
  stats(): { copies: number; slabBytes: number } {
    return { copies: this.vectors.size, slabBytes: this.vectors.bytes };
  }

  keep(label: number, embedding: ArrayLike<number>): void {
    this.vectors.put(label, embedding);
  }

  drop(label: number): void {
    this.vectors.delete(label);
  }

  /**
   * Exact cosine top-k of `ids` (live labels); ties go to the lower chunk id, deterministically.
   * Only candidates that can reach the top k are rescored: the k best lower bounds (approximate −
   * bound) put a floor under the k-th exact score, and a candidate whose upper bound (approximate +
   * bound) is below it cannot be in the top k. Rows deleted meanwhile can leave fewer than k; the
   * rest are then rescored in rank order, as many as can still reach the k-th score.
   */
  async top(vector: number[], k: number, ids: readonly number[], isLive: IsLive): Promise<SearchHitId[]> {
    const query = Float32Array.from(normalise(vector));
    const candidates = await this.scoreApproximately(query, ids, isLive);
    const floor = kthLargest(
      candidates.map((c) => c.approximate - c.bound),
      k,
    );
    let hits = await this.rescore(
      query,
      candidates.filter((c) => c.approximate + c.bound >= floor),
    );
    let rest = hits.length >= k ? [] : candidates.filter((c) => c.approximate + c.bound < floor).sort(byApproximateThenId);
    const batchSize = Math.max(RESCORE_FACTOR * k, k + RESCORE_MARGIN);
    while (rest.length > 0) {
      const kth = hits.length >= k ? kthScore(hits, k) : Number.NEGATIVE_INFINITY;
      // Short of k: the next batch in rank order; else every candidate that could still reach the k-th score.
      const batch = kth === Number.NEGATIVE_INFINITY ? rest.slice(0, batchSize) : rest.filter((c) => c.approximate + c.bound >= kth);
      rest = kth === Number.NEGATIVE_INFINITY ? rest.slice(batchSize) : [];
      hits = hits.concat(await this.rescore(query, batch));
    }
    return hits.sort(byScoreThenId).slice(0, k);
  }

  /** Copies every live vector not copied yet from the chunks table, in id order; `shouldStop` is asked before each batch. `expected`: how many are live, to size the slab once. */
  async copyFromDatabase(isLive: IsLive, shouldStop: () => boolean = () => false, expected = 0): Promise<void> {
    this.vectors.reserve(expected);
    let afterId = 0;
    let decoded = new Float32Array(0);
    while (!shouldStop()) {
      const rows = await readChunkEmbeddingBlobs(this.db, afterId, COPY_BATCH, this.collection);
      for (const row of rows) {
        if (!isLive(row.id) || this.vectors.has(row.id)) continue;
        if (decoded.length !== row.embedding.byteLength >>> 2) decoded = new Float32Array(row.embedding.byteLength >>> 2);
        this.keep(row.id, decodeInto(row.embedding, decoded));
      }
      if (rows.length < COPY_BATCH) return;
      afterId = rows[rows.length - 1]?.id ?? afterId;
    }
  }

  /** The members of `ids` with their approximate scores; those not copied yet are read from SQL first (a sync may delete some meanwhile). */
  private async scoreApproximately(query: Float32Array, ids: readonly number[], isLive: IsLive): Promise<ApproximateScore[]> {
    const candidates: ApproximateScore[] = [];
    const missing: number[] = [];
    for (const label of ids) {
      const scored = this.vectors.score(query, label);
      if (scored) candidates.push(scored);
      else missing.push(label);
    }
    if (missing.length === 0) return candidates;
    for (const row of await readEmbeddings(this.db, missing)) if (isLive(row.id)) this.keep(row.id, row.embedding);
    for (const label of missing) {
      const scored = this.vectors.score(query, label);
      if (scored) candidates.push(scored);
    }
    return candidates;
  }

  /** Exact scores of `candidates` from their float32 embeddings in the chunks table; rows deleted meanwhile drop out. */
  private async rescore(query: Float32Array, candidates: readonly ApproximateScore[]): Promise<SearchHitId[]> {
    if (candidates.length === 0) return [];
    const rows = await readEmbeddings(
      this.db,
      candidates.map((candidate) => candidate.label),
    );
    return rows.map((row) => ({ chunkId: row.id, score: cosine(query, row.embedding) }));
  }
}

/** The float32 little-endian blob's values in `out`: one array for every row, where decoding to number[] made 3 KiB of garbage a vector. */
function decodeInto(blob: Uint8Array, out: Float32Array): Float32Array {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function byScoreThenId(a: SearchHitId, b: SearchHitId): number {
  return b.score - a.score || a.chunkId - b.chunkId;
}

function byApproximateThenId(a: ApproximateScore, b: ApproximateScore): number {
  return b.approximate - a.approximate || a.label - b.label;
}

/** The k-th largest value, or −∞ when there are fewer than k. */
function kthLargest(values: readonly number[], k: number): number {
  if (values.length < k) return Number.NEGATIVE_INFINITY;
  return Float64Array.from(values).sort()[values.length - k] ?? Number.NEGATIVE_INFINITY;
}

function kthScore(hits: readonly SearchHitId[], k: number): number {
  return [...hits].sort(byScoreThenId)[k - 1]?.score ?? Number.NEGATIVE_INFINITY;
}

function normalise(vector: number[]): number[] {
  let norm = 0;
  for (const value of vector) norm += value * value;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return vector.map((value) => value * scale);
}

/** Cosine of a unit-length query with a stored float32 vector (unit length too, up to float32 rounding). */
function cosine(query: Float32Array, stored: ArrayLike<number>): number {
  let dotProduct = 0;
  let norm = 0;
  for (let i = 0; i < stored.length; i++) {
    const value = stored[i] ?? 0;
    dotProduct += (query[i] ?? 0) * value;
    norm += value * value;
  }
  return norm > 0 ? dotProduct / Math.sqrt(norm) : 0;
}
