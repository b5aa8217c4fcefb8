/**
 * Compaction of vector_log: the rows every live worker's checkpoint has passed are deleted, so the
 * change log does not grow forever. `through_seq` records how far it went; a checkpoint older than
 * that is rebuilt from the chunks table, never replayed over a gap.
 */
import type { Knex } from 'knex';

export async function compactedThrough(db: Knex): Promise<number> {
  const row = (await db('log_compaction').select('through_seq').where({ id: 1 }).first()) as { through_seq: number | string } | undefined;
  return Number(row?.through_seq ?? 0);
}

/**
 * Deletes up to `limit` rows with seq ≤ throughSeq, oldest first, and records how far it got;
 * returns how many went. The newest row always stays: it is what tells every reader the latest seq.
 */
export async function compactLog(db: Knex, throughSeq: number, limit: number): Promise<number> {
  return db.transaction(async (trx) => {
    const newest = (await trx('vector_log').max({ seq: 'seq' }).first()) as { seq: number | string | null } | undefined;
    const below = Math.min(throughSeq, Number(newest?.seq ?? 0) - 1);
    const rows = (await trx('vector_log').select('seq').where('seq', '<=', below).orderBy('seq').limit(limit)) as Array<{ seq: number | string }>;
    const last = rows.at(-1);
    if (!last) return 0;
    const upTo = Number(last.seq);
    await trx('vector_log').where('seq', '<=', upTo).delete();
    await trx('log_compaction').where({ id: 1 }).where('through_seq', '<', upTo).update({ through_seq: upTo });
    return rows.length;
  });
}
