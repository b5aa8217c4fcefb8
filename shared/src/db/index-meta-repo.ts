/** The embedder the database's vectors were made with, and this database's identity. */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { nowMs } from './columns.js';

export interface IndexMeta {
  embedder: string;
  dimension: number;
  instanceId: string;
}

/** Records the embedder on first use; afterwards returns what is recorded (which may differ). */
export async function claimIndexMeta(db: Knex, embedder: string, dimension: number): Promise<IndexMeta> {
  await db('index_meta').insert({ id: 1, embedder, dimension, instance_id: randomUUID(), updated_at: nowMs() }).onConflict('id').ignore();
  const meta = await readIndexMeta(db);
  if (!meta) throw new Error('index_meta has no row after insert');
  return meta;
}

/** What is recorded, without recording anything: undefined on a fresh database. */
export async function readIndexMeta(db: Knex): Promise<IndexMeta | undefined> {
  const row = (await db('index_meta').select('embedder', 'dimension', 'instance_id').where({ id: 1 }).first()) as
    { embedder: string; dimension: number; instance_id: string } | undefined;
  return row ? { embedder: row.embedder, dimension: row.dimension, instanceId: row.instance_id } : undefined;
}

export async function setIndexEmbedder(trx: Knex, embedder: string, dimension: number): Promise<void> {
  await trx('index_meta').where({ id: 1 }).update({ embedder, dimension, updated_at: nowMs() });
}
