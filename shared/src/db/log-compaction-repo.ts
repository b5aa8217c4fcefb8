/**
 * Compaction of vector_log, one collection at a time (each collection's index checkpoints on its
 * own): the rows of a collection that every live worker's checkpoint of it has passed are deleted,
 * so the change log does not grow forever. collections.compacted_seq records how far it went; a
 * checkpoint older than that is rebuilt from the chunks table, never replayed over a gap.
 */
import type { Knex } from 'knex';
import { DEFAULT_COLLECTION } from '../input.js';

export async function compactedThrough(db: Knex, collection = DEFAULT_COLLECTION): Promise<number> {
  const row = (await db('collections').select('compacted_seq').where({ id: collection }).first()) as { compacted_seq: number | string } | undefined;
  return Number(row?.compacted_seq ?? 0);
}

/**
 * Deletes up to `limit` rows of the collection with seq ≤ throughSeq, oldest first, and records how
 * far it got; returns how many went. The collection's newest row always stays: it is what tells
 * every reader the collection's latest seq.
 */
export async function compactLog(db: Knex, throughSeq: number, limit: number, collection = DEFAULT_COLLECTION): Promise<number> {
  return db.transaction(async (trx) => {
    const newest = (await trx('vector_log').where('collection_id', collection).max({ seq: 'seq' }).first()) as { seq: number | string | null } | undefined;
    const below = Math.min(throughSeq, Number(newest?.seq ?? 0) - 1);
    const rows = (await trx('vector_log').select('seq').where('collection_id', collection).where('seq', '<=', below).orderBy('seq').limit(limit)) as Array<{
      seq: number | string;
    }>;
    const last = rows.at(-1);
    if (!last) return 0;
    const upTo = Number(last.seq);
    await trx('vector_log').where('collection_id', collection).where('seq', '<=', upTo).delete();
    await trx('collections').where({ id: collection }).where('compacted_seq', '<', upTo).update({ compacted_seq: upTo });
    return rows.length;
  });
}
