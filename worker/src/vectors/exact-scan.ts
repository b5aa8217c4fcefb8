/**
 * Exact filtered search (DESIGN.md §5): an allowed set below FILTER_EXACT_MAX_IDS is scored by
 * cosine over every member instead of walking HNSW with a filter. hnswlib's getPoint costs ~60 µs a
 * call, so the members are ranked from int8 copies kept beside the index (QuantisedVectors), and
 * the best of them are rescored in float32 from the chunks table, one query per search: every
 * candidate whose approximate score plus its error bound reaches the k-th exact score is rescored,
 * so the top k and their scores are those of a float32 scan of every member.
 * Copies follow the live labels; after a checkpoint load (whose vectors this process never saw)
 * they are copied from SQL in the background, and any still missing are read once, on demand.
 */
import type { Knex } from 'knex';
import { readChunkEmbeddingBlobs, readEmbeddings } from '../../../shared/src/db/chunks-repo.js';
import type { SearchHitId } from './index-types.js';
import { QuantisedVectors } from './quantised-vectors.js';

type IsLive = (label: number) => boolean;

interface Candidate {
  chunkId: number;
  approximate: number;
  bound: number; // |exact − approximate| ≤ bound
}

const COPY_BATCH = 1_000;
const RESCORE_FACTOR = 4; // the first rescore takes the best RESCORE_FACTOR × k by approximate score ...
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

  /** Exact cosine top-k of `ids` (live labels); ties go to the lower chunk id, deterministically. */
  async top(vector: number[], k: number, ids: readonly number[], isLive: IsLive): Promise<SearchHitId[]> {
    const query = Float32Array.from(normalise(vector));
    await this.copyMissing(ids, isLive);
    const ranked = this.rankApproximately(query, ids);
    const firstCount = Math.max(RESCORE_FACTOR * k, k + RESCORE_MARGIN);
    let hits = await this.rescore(query, ranked.slice(0, firstCount));
    let rest = ranked.slice(firstCount);
    while (rest.length > 0) {
      const floor = hits.length >= k ? kthScore(hits, k) : Number.NEGATIVE_INFINITY;
      // Short of k (rows deleted meanwhile): the next batch in rank order; else every candidate that could still reach the floor.
      const batch = floor === Number.NEGATIVE_INFINITY ? rest.slice(0, firstCount) : rest.filter((c) => c.approximate + c.bound >= floor);
      rest = floor === Number.NEGATIVE_INFINITY ? rest.slice(firstCount) : [];
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

  /** Reads from SQL the vectors of `ids` not copied yet (a sync may delete some meanwhile). */
  private async copyMissing(ids: readonly number[], isLive: IsLive): Promise<void> {
    const missing = ids.filter((id) => !this.vectors.has(id));
    if (missing.length === 0) return;
    for (const row of await readEmbeddings(this.db, missing)) if (isLive(row.id)) this.keep(row.id, row.embedding);
  }

  /** The copied members of `ids`, best approximate score first (ties: lower chunk id). */
  private rankApproximately(query: Float32Array, ids: readonly number[]): Candidate[] {
    const ranked: Candidate[] = [];
    for (const chunkId of ids) {
      const approximate = this.vectors.approximate(query, chunkId);
      if (!Number.isNaN(approximate)) ranked.push({ chunkId, approximate, bound: this.vectors.bound(chunkId) });
    }
    return ranked.sort((a, b) => b.approximate - a.approximate || a.chunkId - b.chunkId);
  }

  /** Exact scores of `candidates` from their float32 embeddings in the chunks table; rows deleted meanwhile drop out. */
  private async rescore(query: Float32Array, candidates: readonly Candidate[]): Promise<SearchHitId[]> {
    if (candidates.length === 0) return [];
    const rows = await readEmbeddings(
      this.db,
      candidates.map((candidate) => candidate.chunkId),
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
