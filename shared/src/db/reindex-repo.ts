/**
 * SQL of the re-embedding command: new vectors are staged beside the old ones while workers keep
 * searching, then swapped in one transaction that also records the new embedder and appends a
 * `reindex` row to vector_log, which tells every running worker its index is of the old space.
 */
import type { Knex } from 'knex';
import { encodeEmbedding, nowMs } from './columns.js';
import { logWriteTransaction } from './write-transaction.js';

export async function clearStagedEmbeddings(db: Knex): Promise<void> {
  await db('reindex_embeddings').delete();
}

/** Chunks (id, text) in id order after `afterId` that have no staged embedding yet. */
export async function readUnstagedChunks(db: Knex, afterId: number, limit: number): Promise<Array<{ id: number; text: string }>> {
  const rows: Array<{ id: number; text: string }> = await db('chunks as c')
    .leftJoin('reindex_embeddings as r', 'r.chunk_id', 'c.id')
    .whereNull('r.chunk_id')
    .where('c.id', '>', afterId)
    .orderBy('c.id')
    .limit(limit)
    .select('c.id', 'c.text');
  return rows;
}

export async function stageEmbeddings(db: Knex, rows: Array<{ id: number; embedding: number[] }>): Promise<void> {
  if (rows.length === 0) return;
  await db('reindex_embeddings')
    .insert(rows.map((row) => ({ chunk_id: row.id, embedding: encodeEmbedding(row.embedding) })))
    .onConflict('chunk_id')
    .merge();
}

/**
 * Swaps the staged embeddings in. `embedMissing` embeds chunks added since staging began; it runs
 * inside the transaction, which holds the write lock, so no chunk can slip in unconverted.
 */
export async function switchEmbeddings(
  db: Knex,
  embedder: { id: string; dimension: number },
  embedMissing: (chunks: Array<{ id: number; text: string }>) => Promise<number[][]>,
): Promise<{ chunks: number }> {
  return logWriteTransaction(db, async (trx) => {
    for (let missing = await readUnstagedChunks(trx, 0, 256); missing.length > 0; missing = await readUnstagedChunks(trx, 0, 256)) {
      const vectors = await embedMissing(missing);
      await stageEmbeddings(
        trx,
        missing.map((chunk, i) => ({ id: chunk.id, embedding: vectors[i] ?? [] })),
      );
    }
    await trx('reindex_embeddings').whereNotIn('chunk_id', trx('chunks').select('id')).delete();
    await trx('chunks').update({ embedding: trx('reindex_embeddings').select('embedding').where('reindex_embeddings.chunk_id', trx.ref('chunks.id')) });
    const count = (await trx('chunks').count({ n: '*' }).first()) as { n: number | string };
    await trx('index_meta').where({ id: 1 }).update({ embedder: embedder.id, dimension: embedder.dimension, updated_at: nowMs() });
    // every collection's index is of the old space: each one's change log says so
    const collections: Array<{ id: string }> = await trx('collections').select('id');
    await trx('vector_log').insert(collections.map((c) => ({ op: 'reindex', chunk_id: 0, collection_id: c.id })));
    await trx('reindex_embeddings').delete();
    return { chunks: Number(count.n) };
  });
}
