/**
 * The payload indexes declared per collection (DESIGN.md §5): which metadata fields every worker
 * keeps postings of. A declaration or a removal appends an `index` row to the collection's
 * vector_log in the same transaction, so each worker's sync reads the table again and builds or
 * drops the field without a restart, in log order with the chunks it covers.
 */
import type { Knex } from 'knex';
import { ConflictError } from '../errors.js';
import { nowMs } from './columns.js';
import { latestSeq } from './chunks-repo.js';
import { requireActiveCollection } from './collections-repo.js';
import { logWriteTransaction } from './write-transaction.js';

export const PAYLOAD_TYPES = ['keyword', 'number', 'bool'] as const;
export type PayloadIndexType = (typeof PAYLOAD_TYPES)[number];

export interface PayloadIndexRecord {
  field: string;
  type: PayloadIndexType;
  createdAt: string;
}

interface Row {
  field: string;
  type: PayloadIndexType;
  created_at: number | string;
}

export async function listPayloadIndexes(db: Knex, collection: string): Promise<PayloadIndexRecord[]> {
  const rows = (await db('payload_indexes').select('field', 'type', 'created_at').where({ collection_id: collection }).orderBy('field')) as Row[];
  return rows.map((row) => ({ field: row.field, type: row.type, createdAt: new Date(Number(row.created_at)).toISOString() }));
}

/**
 * Declares a field's payload index; `created` false when the same declaration already exists. A
 * field declared with another type is a conflict (drop it first), and so is one more than `max`.
 */
export async function declarePayloadIndex(
  db: Knex,
  input: { collection: string; field: string; type: PayloadIndexType; max: number },
): Promise<{ index: PayloadIndexRecord; created: boolean; seq?: number }> {
  return logWriteTransaction(db, async (trx) => {
    await requireActiveCollection(trx, input.collection); // NotFoundError
    const existing = (await listPayloadIndexes(trx, input.collection)).find((index) => index.field === input.field);
    if (existing?.type === input.type) return { index: existing, created: false };
    if (existing) throw new ConflictError(`field ${input.field} already has a ${existing.type} index: delete it first`);
    const count = await countPayloadIndexes(trx, input.collection);
    if (count >= input.max) throw new ConflictError(`collection ${input.collection} already has ${count} payload indexes, the most MAX_PAYLOAD_INDEXES allows`);
    const createdAt = nowMs();
    await trx('payload_indexes').insert({ collection_id: input.collection, field: input.field, type: input.type, created_at: createdAt });
    const seq = await logIndexChange(trx, input.collection);
    return { index: { field: input.field, type: input.type, createdAt: new Date(createdAt).toISOString() }, created: true, seq };
  });
}

/** Drops a field's payload index and returns what it was, with the seq of its log row; undefined when there was none. */
export async function dropPayloadIndex(db: Knex, collection: string, field: string): Promise<(PayloadIndexRecord & { seq: number }) | undefined> {
  return logWriteTransaction(db, async (trx) => {
    await requireActiveCollection(trx, collection); // NotFoundError
    const existing = (await listPayloadIndexes(trx, collection)).find((index) => index.field === field);
    if (!existing) return undefined;
    await trx('payload_indexes').where({ collection_id: collection, field }).delete();
    return { ...existing, seq: await logIndexChange(trx, collection) };
  });
}

async function countPayloadIndexes(trx: Knex, collection: string): Promise<number> {
  const row = (await trx('payload_indexes').where({ collection_id: collection }).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/** Appends the `index` row and returns its seq (ours: the log's write lock is held). */
async function logIndexChange(trx: Knex, collection: string): Promise<number> {
  await trx('vector_log').insert({ op: 'index', chunk_id: 0, collection_id: collection });
  return latestSeq(trx, collection);
}
