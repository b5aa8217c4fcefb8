/**
 * All SQL on collections (DESIGN.md §13). A collection's rows are its documents, chunks, lexical
 * entries, change-log rows and chat sessions; `default` always exists (the migration creates it).
 * Deleting one is two steps: the API marks it `deleting` in the transaction that records the job
 * (from then on it is not found), and the job purges its rows in one log transaction that ends
 * with one `drop` row in the collection's change log, which tells every worker to let its index go.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { NotFoundError } from '../errors.js';
import { DEFAULT_COLLECTION } from '../input.js';
import { fromJsonColumn, nowMs, toJsonColumn } from './columns.js';
import { dialectOf } from './connection.js';
import { deleteLexicalEntries } from './lexical-repo.js';
import { logWriteTransaction } from './write-transaction.js';
import { insertGeneration } from './generations-repo.js';

export type CollectionStatus = 'active' | 'deleting';

export interface CollectionRecord {
  id: string;
  uid: string; // this incarnation: the same id deleted and created again is another collection
  title: string | null;
  embedder: string; // the spec of its current generation: builtin, builtin:<dimension> or ollama:<model>
  generation: number; // the current generation (a reindex makes the next one)
  buildingGeneration: number | null; // the generation a running reindex builds
  metadata: Record<string, unknown>;
  status: CollectionStatus;
  createdAt: string;
}

interface CollectionRow {
  id: string;
  uid: string;
  title: string | null;
  embedder: string;
  generation: number;
  building_generation: number | null;
  metadata: unknown;
  status: CollectionStatus;
  created_at: number | string;
}

const COLUMNS = ['id', 'uid', 'title', 'embedder', 'generation', 'building_generation', 'metadata', 'status', 'created_at'] as const;
const BATCH = 500;

/** Creates a collection with its first generation; undefined when the id is taken (also while a deletion of it is under way). */
export async function createCollection(
  db: Knex,
  input: { id: string; title: string | null; embedder: string; metadata: Record<string, unknown> },
): Promise<CollectionRecord | undefined> {
  const row = {
    ...input,
    uid: randomUUID(),
    generation: 1,
    building_generation: null,
    metadata: toJsonColumn(input.metadata),
    status: 'active' as const,
    compacted_seq: 0,
    created_at: nowMs(),
  };
  return db.transaction(async (trx) => {
    const inserted: Array<{ id: string }> = await trx('collections').insert(row).onConflict('id').ignore().returning(['id']);
    if (inserted.length === 0) return undefined;
    await trx('collection_generations').where({ collection_id: input.id }).delete(); // an earlier incarnation's
    await insertGeneration(trx, input.id, 1, input.embedder);
    return toRecord(row);
  });
}

export async function findCollection(db: Knex, id: string): Promise<CollectionRecord | undefined> {
  const row = (await db('collections').select(COLUMNS).where({ id }).first()) as CollectionRow | undefined;
  return row ? toRecord(row) : undefined;
}

/** Every collection in id order, those being deleted included. */
export async function listCollections(db: Knex): Promise<CollectionRecord[]> {
  const rows = (await db('collections').select(COLUMNS).orderBy('id')) as CollectionRow[];
  return rows.map(toRecord);
}

/**
 * Inside a write transaction: 404 unless the collection is active, and on Postgres a share lock on
 * its row until the transaction ends, so a deletion's status change waits for the write (whose rows
 * its purge then removes) instead of racing it. SQLite write transactions are serial already.
 */
export async function requireActiveCollection(trx: Knex, id: string): Promise<void> {
  if (id === DEFAULT_COLLECTION) return; // always there, never deleted
  const query = trx('collections').select('status').where({ id });
  const row = (await (dialectOf(trx) === 'postgres' ? query.forShare() : query).first()) as { status: CollectionStatus } | undefined;
  if (row?.status !== 'active') throw new NotFoundError(`collection ${id} not found`);
}

/** Active → deleting; false when it was not active. Call it in the transaction that records the deletion job. */
export async function markCollectionDeleting(trx: Knex, id: string): Promise<boolean> {
  return (await trx('collections').where({ id, status: 'active' }).update({ status: 'deleting' })) > 0;
}

export interface CollectionCounts {
  documents: number;
  chunks: number;
  sessions: number;
}

export async function countCollectionContents(db: Knex, id: string): Promise<CollectionCounts> {
  const count = async (table: string) => {
    const row = (await db(table).where({ collection_id: id }).count({ n: '*' }).first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  };
  const [documents, chunks, sessions] = await Promise.all([count('documents'), count('chunks'), count('chat_sessions')]);
  return { documents, chunks, sessions };
}

export interface CollectionStats {
  collection: string;
  documents: number;
  chunks: number;
  latestSeq: number; // the newest seq of its change-log rows (or how far they were compacted)
}

/** Every active collection's document and chunk counts and newest change-log seq, in id order: three grouped queries. */
export async function readCollectionStats(db: Knex): Promise<CollectionStats[]> {
  const grouped = async (query: Knex.QueryBuilder) => {
    const rows: Array<{ collection_id: string; n: number | string | null }> = await query.groupBy('collection_id');
    return new Map(rows.map((row) => [row.collection_id, Number(row.n ?? 0)]));
  };
  const active = async () =>
    (await db('collections').select('id', 'compacted_seq').where({ status: 'active' }).orderBy('id')) as Array<{ id: string; compacted_seq: number | string }>;
  const [collections, documents, chunks, seqs] = await Promise.all([
    active(),
    grouped(db('documents').select('collection_id').count({ n: '*' })),
    grouped(db('chunks').select('collection_id').count({ n: '*' })),
    grouped(db('vector_log').select('collection_id').max({ n: 'seq' })),
  ]);
  return collections.map((c) => ({
    collection: c.id,
    documents: documents.get(c.id) ?? 0,
    chunks: chunks.get(c.id) ?? 0,
    latestSeq: Math.max(seqs.get(c.id) ?? 0, Number(c.compacted_seq)),
  }));
}

/**
 * Deletes everything of a collection and the collection itself in one log transaction: lexical
 * entries, chunks, documents, removal targets, chat messages and sessions, and its change-log rows,
 * which one `drop` row replaces. Revision counters stay (document_revisions), so a collection made
 * again under the same id never reuses an ingest job id. Returns what went; zeros when it is gone.
 */
export async function purgeCollection(db: Knex, id: string): Promise<CollectionCounts> {
  return logWriteTransaction(db, async (trx) => {
    const counts = await countCollectionContents(trx, id);
    if (!(await trx('collections').where({ id }).first())) return counts;
    for (let afterId = 0; ;) {
      const rows = (await trx('chunks').select('id').where({ collection_id: id }).where('id', '>', afterId).orderBy('id').limit(BATCH)) as Array<{
        id: number;
      }>;
      if (rows.length === 0) break;
      await deleteLexicalEntries(
        trx,
        rows.map((row) => row.id),
      );
      afterId = rows.at(-1)?.id ?? afterId;
    }
    await trx('chunks').where({ collection_id: id }).delete();
    await trx('documents').where({ collection_id: id }).delete();
    await trx('removal_targets').where({ collection_id: id }).delete();
    await trx('chat_messages')
      .whereIn('session_id', trx('chat_sessions').select('id').where({ collection_id: id }))
      .delete();
    await trx('chat_sessions').where({ collection_id: id }).delete();
    await trx('vector_log').where({ collection_id: id }).delete();
    await trx('generation_embeddings').where({ collection_id: id }).delete();
    await trx('collection_generations').where({ collection_id: id }).delete();
    await trx('payload_indexes').where({ collection_id: id }).delete();
    await trx('vector_log').insert({ op: 'drop', chunk_id: 0, collection_id: id });
    await trx('collections').where({ id }).delete();
    return counts;
  });
}

function toRecord(row: CollectionRow): CollectionRecord {
  return {
    id: row.id,
    uid: row.uid,
    title: row.title,
    embedder: row.embedder,
    generation: Number(row.generation),
    buildingGeneration: row.building_generation === null ? null : Number(row.building_generation),
    metadata: fromJsonColumn<Record<string, unknown>>(row.metadata),
    status: row.status,
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}
