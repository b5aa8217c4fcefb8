/**
 * The shapes the index modules share: what configures the index, whose data it holds and what a
 * search returns. vector-index.ts re-exports them; they live here so that no module of the index
 * has to import VectorIndex itself (no import cycles).
 */
import type { Config } from '../../../shared/src/config.js';

export type IndexConfig = Pick<
  Config,
  | 'DATA_DIR'
  | 'HNSW_M'
  | 'HNSW_EF_CONSTRUCTION'
  | 'HNSW_EF_SEARCH'
  | 'HNSW_INITIAL_CAPACITY'
  | 'CHECKPOINT_EVERY_OPS'
  | 'CHECKPOINT_INTERVAL_MS'
  | 'FILTER_EXACT_MAX_IDS'
>;

export interface IndexIdentity {
  embedder: string;
  dimension: number;
  instanceId: string; // the database's identity (index_meta), and the collection's incarnation for any but the default
  collection?: string | undefined; // whose chunks: the default collection when absent
}

export interface SearchHitId {
  chunkId: number;
  score: number; // cosine similarity
}
