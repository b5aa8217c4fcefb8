/**
 * Rebuilds the index from the chunks table, the truth it is derived from (DESIGN.md §5), when no
 * checkpoint verifies. The log seq is read before the rows, so replaying the log from that seq
 * afterwards misses nothing committed meanwhile (a row already read is then skipped as present).
 */
import type { Knex } from 'knex';
import { countChunks, latestSeq, readChunkEmbeddings } from '../../../shared/src/db/chunks-repo.js';
import type { Logger } from '../../../shared/src/logger.js';
import { DEFAULT_COLLECTION } from '../../../shared/src/input.js';
import type { ExactScan } from './exact-scan.js';
import type { IndexConfig } from './index-types.js';
import { VectorGraph } from './vector-graph.js';

export interface RebuildServices {
  config: Pick<IndexConfig, 'HNSW_M' | 'HNSW_EF_CONSTRUCTION' | 'HNSW_EF_SEARCH' | 'HNSW_INITIAL_CAPACITY'>;
  db: Knex;
  logger: Logger;
}

const REBUILD_BATCH = 1_000;
const HEADROOM = 1.25; // capacity over the current chunk count, so the first inserts do not resize

/** A graph of every chunk's embedding (copied into `scan` as well) and the seq it is current at. */
export async function rebuildFromDatabase(
  s: RebuildServices,
  dimension: number,
  scan: ExactScan,
  collection = DEFAULT_COLLECTION,
): Promise<{ graph: VectorGraph; seq: number }> {
  const started = performance.now();
  const seq = await latestSeq(s.db, collection);
  const total = await countChunks(s.db, collection);
  const graph = VectorGraph.create(s.config, dimension, Math.max(s.config.HNSW_INITIAL_CAPACITY, Math.ceil(total * HEADROOM)), s.logger);
  let afterId = 0;
  for (;;) {
    const rows = await readChunkEmbeddings(s.db, afterId, REBUILD_BATCH, collection);
    for (const row of rows) {
      graph.add(row.id, row.embedding);
      scan.keep(row.id, row.embedding);
    }
    if (rows.length < REBUILD_BATCH) break;
    afterId = rows[rows.length - 1]?.id ?? afterId;
  }
  s.logger.info('index rebuilt', { collection, size: graph.size, seq, durationMs: Math.round(performance.now() - started) });
  return { graph, seq };
}
