/**
 * Exact filtered search (DESIGN.md §5): an allowed set below FILTER_EXACT_MAX_IDS is scored by
 * cosine over every member instead of walking HNSW with a filter. The scores come from float32
 * copies of the live vectors kept beside the index, because hnswlib's getPoint costs ~60 µs a call.
 * Copies follow the live labels; after a checkpoint load (whose vectors this process never saw)
 * they are copied from SQL in the background, and any still missing are read once, on demand.
 */
import type { Knex } from 'knex';
import { readChunkEmbeddings, readEmbeddings } from '../../../shared/src/db/chunks-repo.js';
import type { SearchHitId } from './index-types.js';

type IsLive = (label: number) => boolean;

const COPY_BATCH = 1_000;

export class ExactScan {
  private readonly vectors = new Map<number, Float32Array>();

  constructor(
    private readonly db: Knex,
    private readonly collection?: string,
  ) {}

  keep(label: number, embedding: readonly number[]): void {
    this.vectors.set(label, Float32Array.from(embedding));
  }

  drop(label: number): void {
    this.vectors.delete(label);
  }

  /** Exact cosine top-k of `ids` (live labels); ties go to the lower chunk id, deterministically. */
  async top(vector: number[], k: number, ids: readonly number[], isLive: IsLive): Promise<SearchHitId[]> {
    const query = Float32Array.from(normalise(vector));
    const scored = (await this.vectorsOf(ids, isLive)).map((row) => ({ chunkId: row.id, score: cosine(query, row.vector) }));
    scored.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
    return scored.slice(0, k);
  }

  /** Copies every live vector not copied yet from the chunks table, in id order; `shouldStop` is asked before each batch. */
  async copyFromDatabase(isLive: IsLive, shouldStop: () => boolean = () => false): Promise<void> {
    let afterId = 0;
    while (!shouldStop()) {
      const rows = await readChunkEmbeddings(this.db, afterId, COPY_BATCH, this.collection);
      for (const row of rows) if (isLive(row.id) && !this.vectors.has(row.id)) this.keep(row.id, row.embedding);
      if (rows.length < COPY_BATCH) return;
      afterId = rows[rows.length - 1]?.id ?? afterId;
    }
  }

  /** The vectors of `ids` from memory; those not copied yet are read from SQL (a sync may delete some meanwhile). */
  private async vectorsOf(ids: readonly number[], isLive: IsLive): Promise<Array<{ id: number; vector: Float32Array }>> {
    const missing = ids.filter((id) => !this.vectors.has(id));
    if (missing.length > 0) {
      for (const row of await readEmbeddings(this.db, missing)) if (isLive(row.id)) this.keep(row.id, row.embedding);
    }
    return ids.flatMap((id) => {
      const vector = this.vectors.get(id);
      return vector ? [{ id, vector }] : [];
    });
  }
}

function normalise(vector: number[]): number[] {
  let norm = 0;
  for (const value of vector) norm += value * value;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return vector.map((value) => value * scale);
}

/** Cosine of a unit-length query with a stored vector (stored vectors are unit length too, up to float32 rounding). */
function cosine(query: Float32Array, stored: Float32Array): number {
  let dotProduct = 0;
  let norm = 0;
  for (let i = 0; i < stored.length; i++) {
    const value = stored[i] ?? 0;
    dotProduct += (query[i] ?? 0) * value;
    norm += value * value;
  }
  return norm > 0 ? dotProduct / Math.sqrt(norm) : 0;
}
