/** All SQL on the documents table. The API writes a row (pending) before it enqueues its ingest job. */
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { appendLog, chunkIdsOf } from './chunks-repo.js';
import { requireActiveCollection } from './collections-repo.js';
import { fromJsonColumn, nowMs, toJsonColumn } from './columns.js';
import { dialectOf } from './connection.js';
import { applyWhere, type Where } from './where.js';
import { logWriteTransaction } from './write-transaction.js';
import { DEFAULT_COLLECTION } from '../input.js';

export type DocumentStatus = 'pending' | 'indexing' | 'ready' | 'failed';

export interface DocumentRecord {
  id: string;
  title: string | null;
  metadata: Record<string, unknown>;
  status: DocumentStatus;
  error: string | null;
  chunkCount: number;
  revision: number;
  contentHash: string;
  fileHash: string | null; // SHA-256 of the uploaded file the text came from; null for JSON text
  indexedHash: string | null;
  seq: number | null; // the vector_log seq from which its current chunks are searchable; null before its first commit
  requestId: string | null;
  createdAt: string;
  updatedAt: string;
}

interface DocumentRow {
  id: string;
  title: string | null;
  metadata: unknown;
  status: DocumentStatus;
  error: string | null;
  chunk_count: number;
  revision: number;
  content_hash: string;
  file_hash: string | null;
  indexed_hash: string | null;
  seq: number | string | null;
  request_id: string | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS = [
  'id',
  'title',
  'metadata',
  'status',
  'error',
  'chunk_count',
  'revision',
  'content_hash',
  'file_hash',
  'indexed_hash',
  'seq',
  'request_id',
  'created_at',
  'updated_at',
] as const;

export interface NewDocument {
  collection?: string | undefined; // default: the default collection
  id?: string | undefined;
  text: string;
  title?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  fileHash?: string | undefined; // an upload's file SHA-256 (hex)
  requestId: string;
}

export function hashContent(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Inserts a document or replaces its content; either way it becomes pending at a new revision. A
 * document created again after a removal continues from the last revision its id ever had, so an
 * ingest job id (which names the revision) never names two pieces of work. Call it in a transaction;
 * a collection deleted meanwhile is a 404, never a foreign-key error.
 */
export async function upsertPendingDocument(trx: Knex, input: NewDocument): Promise<SavedDocument> {
  const [saved] = await upsertPendingDocuments(trx, input.collection ?? DEFAULT_COLLECTION, [input]);
  if (!saved) throw new Error(`upsert of document ${input.id ?? '(new)'} returned no row`);
  return saved;
}

export interface SavedDocument {
  id: string;
  revision: number;
  status: DocumentStatus;
}

/**
 * upsertPendingDocument for many documents of one collection (distinct ids), in input order: a few
 * multi-row statements instead of four per document, which is most of a batch write's time in SQL.
 */
export async function upsertPendingDocuments(trx: Knex, collection: string, inputs: ReadonlyArray<Omit<NewDocument, 'collection'>>): Promise<SavedDocument[]> {
  await requireActiveCollection(trx, collection);
  const now = nowMs();
  const ids = inputs.map((input) => input.id ?? randomUUID());
  const last = await lastRevisions(trx, collection, ids);
  const rows = inputs.map((input, i) => {
    const id = ids[i] ?? randomUUID();
    return {
      collection_id: collection,
      id,
      title: input.title ?? null,
      metadata: toJsonColumn(input.metadata ?? {}),
      content: input.text,
      content_hash: hashContent(input.text),
      file_hash: input.fileHash ?? null,
      status: 'pending',
      error: null,
      revision: (last.get(id) ?? 0) + 1,
      request_id: input.requestId,
      created_at: now,
      updated_at: now,
    };
  });
  rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); // rows locked in id order: two batches sharing ids cannot deadlock on Postgres
  const saved = new Map<string, SavedDocument>();
  for (let start = 0; start < rows.length; start += UPSERT_BATCH) {
    const savedRows: SavedDocument[] = await trx('documents')
      .insert(rows.slice(start, start + UPSERT_BATCH))
      .onConflict(['collection_id', 'id'])
      .merge({ ...Object.fromEntries(REPLACED_COLUMNS.map((column) => [column, trx.raw(`excluded.${column}`)])), revision: trx.raw('documents.revision + 1') })
      .returning(['id', 'revision', 'status']);
    for (const row of savedRows) saved.set(row.id, row);
    await trx('document_revisions')
      .insert(savedRows.map((row) => ({ collection_id: collection, document_id: row.id, last_revision: row.revision })))
      .onConflict(['collection_id', 'document_id'])
      .merge();
  }
  return ids.map((id) => {
    const row = saved.get(id);
    if (!row) throw new Error(`upsert of document ${id} returned no row`);
    return row;
  });
}

const UPSERT_BATCH = 200; // documents per statement: 13 columns each, within SQLite's 32,766 bound parameters
/** What a new revision replaces in an existing row (revision is bumped; id, collection and created_at stay). */
const REPLACED_COLUMNS = ['title', 'metadata', 'content', 'content_hash', 'file_hash', 'status', 'error', 'request_id', 'updated_at'] as const;

/** The last revision each id ever had in the collection (it outlives removals). */
async function lastRevisions(trx: Knex, collection: string, ids: readonly string[]): Promise<Map<string, number>> {
  const last = new Map<string, number>();
  for (let start = 0; start < ids.length; start += READ_BATCH) {
    const rows = (await trx('document_revisions')
      .select('document_id', 'last_revision')
      .where('collection_id', collection)
      .whereIn('document_id', ids.slice(start, start + READ_BATCH))) as Array<{ document_id: string; last_revision: number }>;
    for (const row of rows) last.set(row.document_id, row.last_revision);
  }
  return last;
}

const READ_BATCH = 500; // ids per IN list

export async function findDocument(db: Knex, id: string, collection = DEFAULT_COLLECTION): Promise<DocumentRecord | undefined> {
  const row = (await db('documents').select(COLUMNS).where({ collection_id: collection, id }).first()) as DocumentRow | undefined;
  return row ? toRecord(row) : undefined;
}

/** The current revision of each given document of `collection` that exists. */
export async function findDocumentRevisions(db: Knex, ids: readonly string[], collection = DEFAULT_COLLECTION): Promise<Map<string, number>> {
  const rows = (await db('documents')
    .select('id', 'revision')
    .where('collection_id', collection)
    .whereIn('id', [...new Set(ids)])) as Array<{ id: string; revision: number }>;
  return new Map(rows.map((row) => [row.id, row.revision]));
}

export interface DocumentPage {
  documents: DocumentRecord[];
  nextCursor: string | null;
}

/** Lists documents in id order, after `cursor`, optionally filtered by status and a metadata filter. */
export async function listDocuments(
  db: Knex,
  options: { collection?: string; where?: Where | undefined; status?: DocumentStatus | undefined; limit: number; cursor?: string | undefined },
): Promise<DocumentPage> {
  let query = db('documents')
    .select(COLUMNS)
    .where('collection_id', options.collection ?? DEFAULT_COLLECTION)
    .orderBy('id')
    .limit(options.limit + 1);
  if (options.cursor !== undefined) query = query.where('id', '>', options.cursor);
  if (options.status !== undefined) query = query.where('status', options.status);
  if (options.where !== undefined) query = applyWhere(query, options.where, 'documents.metadata', dialectOf(db));
  const rows = (await query) as DocumentRow[];
  const page = rows.slice(0, options.limit).map(toRecord);
  return { documents: page, nextCursor: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null };
}

export interface DocumentHash {
  id: string;
  revision: number;
  status: DocumentStatus;
  contentHash: string;
  fileHash: string | null;
}

/** The compact listing a folder sync compares files with: id order, after `cursor`, ids starting with `prefix`. */
export async function listDocumentHashes(
  db: Knex,
  options: { collection: string; prefix?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<{ documents: DocumentHash[]; nextCursor: string | null }> {
  let query = db('documents')
    .select('id', 'revision', 'status', 'content_hash', 'file_hash')
    .where('collection_id', options.collection)
    .orderBy('id')
    .limit(options.limit + 1);
  if (options.cursor !== undefined) query = query.where('id', '>', options.cursor);
  // substr, not LIKE: SQLite's LIKE ignores case, and _ is both an id character and a wildcard
  if (options.prefix !== undefined) query = query.whereRaw('substr(id, 1, ?) = ?', [options.prefix.length, options.prefix]);
  const rows = (await query) as Array<{ id: string; revision: number; status: DocumentStatus; content_hash: string; file_hash: string | null }>;
  const page = rows.slice(0, options.limit).map((row) => ({
    id: row.id,
    revision: row.revision,
    status: row.status,
    contentHash: row.content_hash,
    fileHash: row.file_hash,
  }));
  return { documents: page, nextCursor: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null };
}

/** How many documents of the collection match the filter (all of them without one). */
export async function countDocuments(db: Knex, options: { collection: string; where?: Where | undefined }): Promise<number> {
  let query = db('documents').where('collection_id', options.collection).count({ n: '*' });
  if (options.where !== undefined) query = applyWhere(query, options.where, 'documents.metadata', dialectOf(db));
  const [row] = (await query) as Array<{ n: number | string }>;
  return Number(row?.n ?? 0);
}

/**
 * Replaces a document's metadata, and its chunks' copy with it, in one transaction: filters read
 * the chunks' copy, so search, count and listing see the new metadata from the same commit. Nothing
 * is embedded again; a `meta` row per chunk tells the workers' payload indexes to read the chunks'
 * declared fields again (the sync before each search applies it). It takes the change
 * log's write lock, so an ingest committing meanwhile copies either the old metadata before it or
 * the new one after it, never a mix. Undefined when the document does not exist.
 */
export async function updateDocumentMetadata(
  db: Knex,
  ref: { collection: string; id: string },
  metadata: Record<string, unknown>,
): Promise<DocumentRecord | undefined> {
  return logWriteTransaction(db, async (trx) => {
    const key = { collection_id: ref.collection, id: ref.id };
    const json = toJsonColumn(metadata);
    const updated = await trx('documents').where(key).update({ metadata: json, updated_at: nowMs() });
    if (updated === 0) return undefined;
    await trx('chunks').where({ collection_id: ref.collection, document_id: ref.id }).update({ metadata: json });
    await appendLog(trx, 'meta', await chunkIdsOf(trx, [ref.id], ref.collection), ref.collection); // workers' payload indexes re-read these chunks' fields
    return findDocument(trx, ref.id, ref.collection);
  });
}

const CLAIMABLE: readonly DocumentStatus[] = ['pending', 'indexing', 'failed']; // ready: done already

/** A revision claimed for indexing, with what the job needs of it. */
export interface ClaimedRevision {
  id: string;
  revision: number;
  content: string;
  contentHash: string;
  indexedHash: string | null;
  chunkCount: number;
}

/**
 * Marks the given revisions of one collection indexing in one write transaction (one per document
 * queued a batch behind every other writer once per document) and returns each claimed revision
 * with its content; the others are gone, re-posted or already ready. FOR UPDATE
 * (Postgres; SQLite's write lock excludes other writers) keeps a re-post from landing between the
 * look and the update.
 */
export async function claimRevisionsForIndexing(
  db: Knex,
  collection: string,
  refs: ReadonlyArray<{ documentId: string; revision: number }>,
): Promise<Map<string, ClaimedRevision>> {
  const wanted = new Map(refs.map((ref) => [ref.documentId, ref.revision]));
  return db.transaction(async (trx) => {
    const claimed = new Map<string, ClaimedRevision>();
    const ids = [...wanted.keys()];
    for (let start = 0; start < ids.length; start += READ_BATCH) {
      const rows = (await trx('documents')
        .select('id', 'revision', 'status', 'content', 'content_hash', 'indexed_hash', 'chunk_count')
        .where('collection_id', collection)
        .whereIn('id', ids.slice(start, start + READ_BATCH))
        .forUpdate()) as Array<{
        id: string;
        revision: number;
        status: DocumentStatus;
        content: string;
        content_hash: string;
        indexed_hash: string | null;
        chunk_count: number;
      }>;
      const mine = rows.filter((row) => wanted.get(row.id) === row.revision && CLAIMABLE.includes(row.status));
      if (mine.length === 0) continue;
      await trx('documents')
        .where('collection_id', collection)
        .whereIn(
          'id',
          mine.map((row) => row.id),
        )
        .update({ status: 'indexing', updated_at: nowMs() });
      for (const row of mine) {
        const revision = { id: row.id, revision: row.revision, content: row.content, contentHash: row.content_hash };
        claimed.set(row.id, { ...revision, indexedHash: row.indexed_hash, chunkCount: row.chunk_count });
      }
    }
    return claimed;
  });
}

export async function markDocumentFailed(db: Knex, id: string, revision: number, error: string, collection = DEFAULT_COLLECTION): Promise<void> {
  await db('documents').where({ collection_id: collection, id, revision }).update({ status: 'failed', error, updated_at: nowMs() });
}

export async function markDocumentPending(db: Knex, id: string, revision: number, collection = DEFAULT_COLLECTION): Promise<void> {
  await db('documents').where({ collection_id: collection, id, revision }).update({ status: 'pending', error: null, updated_at: nowMs() });
}

/** Documents by status, of every collection or of the given ones. */
export async function countDocumentsByStatus(db: Knex, collections?: readonly string[]): Promise<Record<DocumentStatus, number>> {
  const query = db('documents').select('status').count({ n: '*' }).groupBy('status');
  const rows = (await (collections === undefined ? query : query.whereIn('collection_id', collections))) as Array<{
    status: DocumentStatus;
    n: number | string;
  }>;
  const counts: Record<DocumentStatus, number> = { pending: 0, indexing: 0, ready: 0, failed: 0 };
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

function toRecord(row: DocumentRow): DocumentRecord {
  return {
    id: row.id,
    title: row.title,
    metadata: fromJsonColumn<Record<string, unknown>>(row.metadata),
    status: row.status,
    error: row.error,
    chunkCount: row.chunk_count,
    revision: row.revision,
    contentHash: row.content_hash,
    fileHash: row.file_hash,
    indexedHash: row.indexed_hash,
    seq: row.seq === null ? null : Number(row.seq),
    requestId: row.request_id,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}
