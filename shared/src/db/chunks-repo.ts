/**
 * All SQL on chunks and vector_log. Every change to chunks appends to vector_log in the same
 * transaction (logWriteTransaction), which is what lets each worker's index catch up by replay.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Knex } from 'knex';
import { decodeEmbedding, encodeEmbedding, fromJsonColumn, nowMs, toJsonColumn } from './columns.js';
import { dialectOf } from './connection.js';
import { deleteLexicalEntries, writeLexicalEntries } from './lexical-repo.js';
import { logWriteTransaction } from './write-transaction.js';
import { GenerationChangedError, stageEmbeddings } from './generations-repo.js';
import { applyWhere, type Where, type WherePath } from './where.js';
import { hasPreparedStatements, preparedRows } from './prepared-statements.js';
import { fieldTextSql, parseFieldText } from './payload-fields.js';
import { DEFAULT_COLLECTION } from '../input.js';

/** hnswlib-node keeps labels as uint32: a larger chunk id would silently alias another chunk. */
export const MAX_CHUNK_ID = 2 ** 32 - 1;
const BATCH = 500;

export interface NewChunk {
  text: string;
  embedding: number[];
  span?: { start: number; end: number }; // where the text lies in the document's text: content.slice(start, end)
}

/** seq: the vector_log seq of the commit that made this revision searchable (0 when nothing was ever logged). */
export type ReplaceOutcome = { status: 'replaced'; chunks: number; removed: number; seq: number } | { status: 'superseded' };

/**
 * The generations a commit's vectors were made for (DESIGN.md §13): `generation`, the collection's
 * current one when they were computed, and `staged`, the same chunks embedded for the generation a
 * reindex was building then. Absent `generation`: whatever is current (tests and benchmarks).
 */
export interface CommitGenerations {
  generation?: number | undefined;
  staged?: { generation: number; embeddings: number[][] } | undefined;
}

/**
 * Replaces a document's chunks with new ones and marks it ready, unless a newer revision was posted.
 * Fenced on the generation: if a reindex swapped the collection to another generation while the
 * vectors were computed, or started building one they lack vectors of, nothing is written (the swap
 * and this commit take the same write lock) and GenerationChangedError asks for them to be embedded
 * again. A commit during a build also stages its chunks' vectors of the generation being built.
 */
export interface ReplaceInput extends CommitGenerations {
  collection?: string | undefined;
  documentId: string;
  revision: number;
  contentHash: string;
  chunks: NewChunk[];
}

export async function replaceDocumentChunks(
  db: Knex,
  input: ReplaceInput,
  onCommit: (trx: Knex, replaced: { chunks: number; removed: number; seq: number }) => Promise<void> = async () => undefined, // runs in the commit
): Promise<ReplaceOutcome> {
  return logWriteTransaction(db, async (trx) => {
    const outcome = await replaceChunksIn(trx, input);
    if (outcome.status === 'replaced') await onCommit(trx, outcome);
    return outcome;
  });
}

/** replaceDocumentChunks' work inside a transaction the caller holds through logWriteTransaction. */
export async function replaceChunksIn(trx: Knex, input: ReplaceInput): Promise<ReplaceOutcome> {
  const { documentId, revision, contentHash, chunks, ...generations } = input;
  const [outcome] = await replaceChunksOfDocuments(trx, { ...generations, documents: [{ documentId, revision, contentHash, chunks }] });
  return outcome ?? { status: 'superseded' };
}

/** Several documents of one collection committed at once; `staged.embeddings` follow their chunks in order, document after document. */
export interface ReplaceManyInput extends CommitGenerations {
  collection?: string | undefined;
  documents: ReadonlyArray<Omit<ReplaceInput, 'collection' | 'generation' | 'staged'>>;
}

/**
 * replaceChunksIn for many documents in one transaction the caller holds (a batch): the same checks
 * and writes, each made once for all documents with multi-row statements, so a commit costs a few
 * statements rather than a dozen per document. The outcomes are in input order; every replaced one
 * gets the commit's seq (its chunks are searchable from there). Ids must differ.
 */
export async function replaceChunksOfDocuments(trx: Knex, input: ReplaceManyInput): Promise<ReplaceOutcome[]> {
  const collection = input.collection ?? DEFAULT_COLLECTION;
  const generation = await fenceGeneration(trx, collection, input);
  const live = await lockLiveRevisions(trx, collection, input.documents);
  const replacing = input.documents.filter((doc) => live.has(doc.documentId));
  const old = await chunksOfDocuments(
    trx,
    collection,
    replacing.map((doc) => doc.documentId),
  );
  await deleteChunksWithLog(
    trx,
    old.map((row) => row.id),
    collection,
  );
  const ids = await insertChunks(trx, collection, generation, input, live);
  const tooLarge = ids.find((id) => id > MAX_CHUNK_ID);
  if (tooLarge !== undefined) throw new Error(`chunk id ${tooLarge} exceeds ${MAX_CHUNK_ID}, the largest HNSW label`);
  await appendLog(trx, 'add', ids, collection);
  const seq = await latestSeq(trx, collection); // ours: the write lock is held
  await markReady(trx, collection, replacing, seq);
  const removed = new Map<string, number>();
  for (const row of old) removed.set(row.document_id, (removed.get(row.document_id) ?? 0) + 1);
  return input.documents.map((doc) =>
    live.has(doc.documentId) ? { status: 'replaced', chunks: doc.chunks.length, removed: removed.get(doc.documentId) ?? 0, seq } : { status: 'superseded' },
  );
}

/**
 * The metadata of each document whose row still has the committed revision (the others are
 * superseded). FOR UPDATE (Postgres; SQLite's write lock already excludes other writers): a POST
 * of a newer revision that is in flight is waited for and seen, and none can land between this check
 * and the commit, which would mark the newer revision ready with this one's chunks.
 */
async function lockLiveRevisions(trx: Knex, collection: string, documents: ReplaceManyInput['documents']): Promise<Map<string, string>> {
  const live = new Map<string, string>();
  for (let start = 0; start < documents.length; start += BATCH) {
    const slice = documents.slice(start, start + BATCH);
    const rows = (await trx('documents')
      .select('id', 'revision', 'metadata')
      .where('collection_id', collection)
      .whereIn(
        'id',
        slice.map((doc) => doc.documentId),
      )
      .forUpdate()) as Array<{ id: string; revision: number; metadata: unknown }>;
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const doc of slice) {
      const row = byId.get(doc.documentId);
      if (row && row.revision === doc.revision) live.set(doc.documentId, toJsonColumn(fromJsonColumn(row.metadata)));
    }
  }
  return live;
}

/** The live documents' chunks as rows (with their lexical entries and staged vectors), in slices; their ids in insertion order. */
async function insertChunks(
  trx: Knex,
  collection: string,
  generation: { current: number; building: number | null },
  input: ReplaceManyInput,
  live: ReadonlyMap<string, string>,
): Promise<number[]> {
  const pending: Array<{ row: Record<string, unknown>; key: string; text: string; staged: number[] }> = [];
  let at = 0; // position in the batch's chunks, where its staged vectors lie
  for (const doc of input.documents) {
    const metadata = live.get(doc.documentId);
    doc.chunks.forEach((chunk, ordinal) => {
      const position = at++;
      if (metadata === undefined) return;
      const row = {
        collection_id: collection,
        document_id: doc.documentId,
        ordinal,
        text: chunk.text,
        metadata,
        embedding: encodeEmbedding(chunk.embedding),
        char_start: chunk.span?.start ?? null,
        char_end: chunk.span?.end ?? null,
        revision: doc.revision,
        generation: generation.current,
      };
      pending.push({ row, key: `${ordinal}:${doc.documentId}`, text: chunk.text, staged: input.staged?.embeddings[position] ?? [] });
    });
  }
  const ids: number[] = [];
  for (let start = 0; start < pending.length; start += BATCH) {
    const slice = pending.slice(start, start + BATCH);
    // RETURNING order is not guaranteed: the document and ordinal pair each id with its row
    const inserted: Array<{ id: number; document_id: string; ordinal: number }> = await trx('chunks')
      .insert(slice.map((p) => p.row))
      .returning(['id', 'document_id', 'ordinal']);
    const byKey = new Map(inserted.map((row) => [`${row.ordinal}:${row.document_id}`, Number(row.id)]));
    const withIds = slice.map((p) => ({ ...p, id: byKey.get(p.key) ?? -1 }));
    if (withIds.some((p) => p.id < 0)) throw new Error('a chunk insert returned no id for one of its rows');
    ids.push(...withIds.map((p) => p.id));
    await stageCommitted(trx, collection, generation.building, withIds);
    await writeLexicalEntries(
      trx,
      withIds.map((p) => ({ id: p.id, text: p.text, collection })),
    );
  }
  return ids;
}

/** The committed documents ready at `seq`: one statement per slice, each document's chunk count and content hash picked by its id. */
async function markReady(trx: Knex, collection: string, documents: ReplaceManyInput['documents'], seq: number): Promise<void> {
  const updatedAt = nowMs();
  for (let start = 0; start < documents.length; start += BATCH) {
    const slice = documents.slice(start, start + BATCH);
    const cases = slice.map(() => 'when ? then').join(' ');
    // casts: Postgres gives an untyped parameter in a CASE the type text
    const chunkCount = trx.raw(
      `case id ${cases.replaceAll('then', 'then cast(? as integer)')} end`,
      slice.flatMap((doc) => [doc.documentId, doc.chunks.length]),
    );
    const indexedHash = trx.raw(
      `case id ${cases.replaceAll('then', 'then cast(? as text)')} end`,
      slice.flatMap((doc) => [doc.documentId, doc.contentHash]),
    );
    await trx('documents')
      .where('collection_id', collection)
      .whereIn(
        'id',
        slice.map((doc) => doc.documentId),
      )
      .update({ status: 'ready', error: null, chunk_count: chunkCount, indexed_hash: indexedHash, seq, updated_at: updatedAt });
  }
}

/** The chunks (id, document) of the given documents. */
async function chunksOfDocuments(trx: Knex, collection: string, documentIds: readonly string[]): Promise<Array<{ id: number; document_id: string }>> {
  const rows: Array<{ id: number; document_id: string }> = [];
  for (let start = 0; start < documentIds.length; start += BATCH) {
    const found = (await trx('chunks')
      .select('id', 'document_id')
      .where('collection_id', collection)
      .whereIn('document_id', documentIds.slice(start, start + BATCH))) as Array<{ id: number; document_id: string }>;
    rows.push(...found.map((row) => ({ id: Number(row.id), document_id: row.document_id })));
  }
  return rows;
}

/** The generation the commit writes, after checking its vectors were made for it (and for the one being built, if any). */
async function fenceGeneration(trx: Knex, collection: string, input: CommitGenerations): Promise<{ current: number; building: number | null }> {
  const row = (await trx('collections').select('generation', 'building_generation').where({ id: collection }).first()) as
    { generation: number; building_generation: number | null } | undefined;
  if (!row) return { current: input.generation ?? 1, building: null }; // the collection is gone: the document check supersedes the commit
  if (input.generation !== undefined && row.generation !== input.generation) {
    throw new GenerationChangedError(collection, `the vectors are of generation ${input.generation}, but generation ${row.generation} is current`);
  }
  if (row.building_generation !== null && input.staged?.generation !== row.building_generation) {
    throw new GenerationChangedError(collection, `generation ${row.building_generation} is being built and the commit has no vectors of it`);
  }
  return { current: row.generation, building: row.building_generation };
}

async function stageCommitted(trx: Knex, collection: string, building: number | null, rows: ReadonlyArray<{ id: number; staged: number[] }>): Promise<void> {
  if (building === null) return;
  await stageEmbeddings(
    trx,
    collection,
    building,
    rows.map((row) => ({ id: row.id, embedding: row.staged })),
  );
}

/**
 * Content unchanged since it was indexed: copy the (maybe new) metadata to its chunks and mark it
 * ready. When the metadata changed, a `meta` row per chunk tells the workers' payload indexes, and
 * the revision is searchable from that row's seq.
 */
export async function refreshDocumentChunks(db: Knex, input: { collection?: string; documentId: string; revision: number }): Promise<ReplaceOutcome> {
  const collection = input.collection ?? DEFAULT_COLLECTION;
  return logWriteTransaction(db, async (trx) => {
    const doc = (await trx('documents')
      .select('revision', 'metadata', 'chunk_count', 'seq')
      .where({ collection_id: collection, id: input.documentId })
      .forUpdate() // as in replaceDocumentChunks: a newer revision cannot be marked ready by this one
      .first()) as { revision: number; metadata: unknown; chunk_count: number; seq: number | string | null } | undefined;
    if (!doc || doc.revision !== input.revision) return { status: 'superseded' };
    const chunks = trx('chunks').where({ collection_id: collection, document_id: input.documentId });
    const before = (await chunks.clone().select('metadata').first()) as { metadata: unknown } | undefined;
    const metadata = fromJsonColumn(doc.metadata);
    await chunks.clone().update({ metadata: toJsonColumn(metadata), revision: input.revision }); // same text: the spans hold for this revision too
    let seq = Number(doc.seq ?? 0);
    if (before !== undefined && !isDeepStrictEqual(fromJsonColumn(before.metadata), metadata)) {
      await appendLog(trx, 'meta', await chunkIdsOf(trx, [input.documentId], collection), collection);
      seq = await latestSeq(trx, collection); // ours: the write lock is held
    }
    await trx('documents').where({ collection_id: collection, id: input.documentId }).update({ status: 'ready', error: null, seq, updated_at: nowMs() });
    return { status: 'replaced', chunks: doc.chunk_count, removed: 0, seq };
  });
}

export interface LogEntry {
  seq: number;
  // swap: a new generation became current (reindex: the same, written before generations); drop: the
  // collection was deleted; meta: a chunk's metadata changed in place; index: a payload index was declared or dropped
  op: 'add' | 'delete' | 'swap' | 'reindex' | 'drop' | 'meta' | 'index';
  chunkId: number;
  embedding: number[] | null; // null for deletes and for adds whose chunk is already gone
  fields: unknown[] | null; // add and meta rows whose chunk exists: the values of the requested fields (MISSING when absent)
}

/**
 * One collection's change feed after `afterSeq`, in seq order. `fields` (where paths): add and meta
 * rows also carry those metadata fields of their chunk, read as the chunk is now (a later row
 * applies the same state again, so replay is idempotent).
 */
export async function readLogAfter(
  db: Knex,
  afterSeq: number,
  limit: number,
  collection = DEFAULT_COLLECTION,
  fields: readonly WherePath[] = [],
): Promise<LogEntry[]> {
  const dialect = dialectOf(db);
  const columns = fields.map((path, i) => {
    const { sql, bindings } = fieldTextSql(dialect, 'c.metadata', path);
    return db.raw(`${sql} as ??`, [...bindings, `f${i}`]);
  });
  const rows = (await db('vector_log as l')
    .leftJoin('chunks as c', function joinChunks() {
      this.on('c.id', '=', 'l.chunk_id').andOnIn('l.op', ['add', 'meta']);
    })
    .select('l.seq', 'l.op', 'l.chunk_id', 'c.id as found', db.raw(`case when l.op = 'add' then c.embedding end as embedding`), ...columns)
    .where('l.collection_id', collection)
    .where('l.seq', '>', afterSeq)
    .orderBy('l.seq')
    .limit(limit)) as Array<
    { seq: number; op: LogEntry['op']; chunk_id: number; found: number | null; embedding: Uint8Array | null } & Record<string, unknown>
  >;
  return rows.map((row) => ({
    seq: Number(row.seq),
    op: row.op,
    chunkId: row.chunk_id,
    embedding: row.embedding ? decodeEmbedding(row.embedding) : null,
    fields: row.found === null ? null : fields.map((_, i) => parseFieldText(row[`f${i}`])),
  }));
}

/** One collection's chunks in id order after `afterId` with the values of `fields` (MISSING when absent), for building a payload index. */
export async function readChunkFields(
  db: Knex,
  fields: readonly WherePath[],
  page: { afterId: number; limit: number },
  collection = DEFAULT_COLLECTION,
): Promise<Array<{ id: number; values: unknown[] }>> {
  const dialect = dialectOf(db);
  const columns = fields.map((path, i) => {
    const { sql, bindings } = fieldTextSql(dialect, 'chunks.metadata', path);
    return db.raw(`${sql} as ??`, [...bindings, `f${i}`]);
  });
  const rows = (await db('chunks')
    .select('id', ...columns)
    .where('collection_id', collection)
    .where('id', '>', page.afterId)
    .orderBy('id')
    .limit(page.limit)) as Array<{ id: number } & Record<string, unknown>>;
  return rows.map((row) => ({ id: Number(row.id), values: fields.map((_, i) => parseFieldText(row[`f${i}`])) }));
}

const LOG_AFTER_SQL = 'select seq from vector_log where collection_id = ? and seq > ? order by seq limit 1';

/**
 * Whether anything was logged in the collection after `afterSeq`: the whole cost of a sync with
 * nothing new, one probe of the (collection_id, seq) index (no query building on the hot path; on
 * SQLite a statement prepared once).
 */
export async function hasLogAfter(db: Knex, afterSeq: number, collection = DEFAULT_COLLECTION): Promise<boolean> {
  if (hasPreparedStatements(db)) return (await preparedRows(db, LOG_AFTER_SQL, [collection, afterSeq])).length > 0;
  const result: unknown = await db.raw(LOG_AFTER_SQL, [collection, afterSeq]);
  const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows; // better-sqlite3: rows; pg: {rows}
  return rows.length > 0;
}

/** The first `swap` (or older `reindex`) row of the collection after `afterSeq`: the add rows before it may already point at the new generation's vectors. */
export async function findSwapAfter(db: Knex, afterSeq: number, collection = DEFAULT_COLLECTION): Promise<number | undefined> {
  const row = (await db('vector_log')
    .select('seq')
    .where('collection_id', collection)
    .where('seq', '>', afterSeq)
    .whereIn('op', ['swap', 'reindex'])
    .orderBy('seq')
    .first()) as { seq: number | string } | undefined;
  return row === undefined ? undefined : Number(row.seq);
}

/** The newest seq of one collection's rows, or of the whole log when `collection` is undefined. */
export async function latestSeq(db: Knex, collection?: string): Promise<number> {
  const query = db('vector_log').max({ seq: 'seq' });
  const row = (await (collection === undefined ? query : query.where('collection_id', collection)).first()) as { seq: number | string | null } | undefined;
  return Number(row?.seq ?? 0);
}

/** One collection's chunk embeddings in id order after `afterId`, for rebuilding its index from the database. */
export async function readChunkEmbeddings(
  db: Knex,
  afterId: number,
  limit: number,
  collection = DEFAULT_COLLECTION,
): Promise<Array<{ id: number; embedding: number[] }>> {
  const rows = (await db('chunks').select('id', 'embedding').where('collection_id', collection).where('id', '>', afterId).orderBy('id').limit(limit)) as Array<{
    id: number;
    embedding: Uint8Array;
  }>;
  return rows.map((row) => ({ id: row.id, embedding: decodeEmbedding(row.embedding) }));
}

/** readChunkEmbeddings without the decoding: the float32 blobs as stored, for a caller that decodes into memory of its own. */
export async function readChunkEmbeddingBlobs(
  db: Knex,
  afterId: number,
  limit: number,
  collection = DEFAULT_COLLECTION,
): Promise<Array<{ id: number; embedding: Uint8Array }>> {
  return (await db('chunks').select('id', 'embedding').where('collection_id', collection).where('id', '>', afterId).orderBy('id').limit(limit)) as Array<{
    id: number;
    embedding: Uint8Array;
  }>;
}

/** The stored embeddings of the given chunks (those still present), for exact scoring. */
export async function readEmbeddings(db: Knex, ids: readonly number[]): Promise<Array<{ id: number; embedding: number[] }>> {
  const found: Array<{ id: number; embedding: number[] }> = [];
  for (let start = 0; start < ids.length; start += BATCH) {
    const rows = (await db('chunks')
      .select('id', 'embedding')
      .whereIn('id', ids.slice(start, start + BATCH))) as Array<{ id: number; embedding: Uint8Array }>;
    for (const row of rows) found.push({ id: row.id, embedding: decodeEmbedding(row.embedding) });
  }
  return found;
}

export async function countChunks(db: Knex, collection = DEFAULT_COLLECTION): Promise<number> {
  const row = (await db('chunks').where('collection_id', collection).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

export interface ChunkHit {
  chunkId: number;
  documentId: string;
  ordinal: number;
  text: string;
  title: string | null;
  metadata: Record<string, unknown>;
}

type ChunkHitRow = { id: number; document_id: string; ordinal: number; text: string; metadata: unknown; title: string | null };

/** The search hits' rows on SQLite: one prepared statement for any number of ids (a JSON array). */
const CHUNK_HITS_SQL = `select c.id, c.document_id, c.ordinal, c.text, c.metadata, d.title
  from chunks as c join documents as d on d.collection_id = c.collection_id and d.id = c.document_id
  where c.id in (select value from json_each(?))`;

/** Rows for search results; chunks deleted since the index saw them are simply absent. */
export async function findChunks(db: Knex, ids: number[]): Promise<Map<number, ChunkHit>> {
  const found = new Map<number, ChunkHit>();
  if (ids.length === 0) return found;
  const rows = hasPreparedStatements(db)
    ? await preparedRows<ChunkHitRow>(db, CHUNK_HITS_SQL, [JSON.stringify(ids)])
    : ((await db('chunks as c')
        .join('documents as d', function sameDocument() {
          this.on('d.collection_id', '=', 'c.collection_id').andOn('d.id', '=', 'c.document_id');
        })
        .select('c.id', 'c.document_id', 'c.ordinal', 'c.text', 'c.metadata', 'd.title')
        .whereIn('c.id', ids)) as ChunkHitRow[]);
  for (const row of rows) {
    found.set(row.id, {
      chunkId: row.id,
      documentId: row.document_id,
      ordinal: row.ordinal,
      text: row.text,
      title: row.title,
      metadata: fromJsonColumn<Record<string, unknown>>(row.metadata),
    });
  }
  return found;
}

export interface ChunkOrigin {
  revision: number | null; // null for chunks written before revisions were recorded
  ordinal: number;
  span: { start: number; end: number } | null;
}

/** Where each given chunk (those still present) came from: its document revision, position and span. */
export async function findChunkOrigins(db: Knex, ids: readonly number[]): Promise<Map<number, ChunkOrigin>> {
  const found = new Map<number, ChunkOrigin>();
  for (let start = 0; start < ids.length; start += BATCH) {
    const rows = (await db('chunks')
      .select('id', 'revision', 'ordinal', 'char_start', 'char_end')
      .whereIn('id', ids.slice(start, start + BATCH))) as Array<{
      id: number;
      revision: number | null;
      ordinal: number;
      char_start: number | null;
      char_end: number | null;
    }>;
    for (const row of rows) {
      const span = row.char_start === null || row.char_end === null ? null : { start: row.char_start, end: row.char_end };
      found.set(Number(row.id), { revision: row.revision, ordinal: row.ordinal, span });
    }
  }
  return found;
}

/**
 * Ids of the chunks whose metadata matches `where` (the allowed set of a filtered search). The
 * filter reads the copy of the document's metadata each chunk was committed with, not the
 * document's current metadata: while a re-ingest is pending, the old chunks keep matching as the
 * old document did, so a search sees the old document or the new one, never a mix.
 */
export async function chunkIdsMatching(db: Knex, where: Where, collection = DEFAULT_COLLECTION): Promise<number[]> {
  const query = db('chunks').select('id').where('collection_id', collection);
  const rows = (await applyWhere(query, where, 'chunks.metadata', dialectOf(db))) as Array<{ id: number }>;
  return rows.map((row) => row.id);
}

export interface StoredChunk {
  id: number;
  ordinal: number;
  text: string;
  start: number | null; // [start, end) in the document text; null for chunks stored before spans were kept
  end: number | null;
}

/** A document's chunks in ordinal order after `afterOrdinal` (-1: from the first), at most `limit`. */
export async function listDocumentChunks(
  db: Knex,
  ref: { collection: string; documentId: string },
  page: { afterOrdinal: number; limit: number },
): Promise<StoredChunk[]> {
  const rows = (await db('chunks')
    .select('id', 'ordinal', 'text', 'char_start', 'char_end')
    .where({ collection_id: ref.collection, document_id: ref.documentId })
    .where('ordinal', '>', page.afterOrdinal)
    .orderBy('ordinal')
    .limit(page.limit)) as ChunkRow[];
  return rows.map(toStoredChunk);
}

/** The chunk `chunkId` of the document and its `n` neighbours on each side, in order; undefined when it is not the document's. */
export async function chunksAround(db: Knex, ref: { collection: string; documentId: string }, chunkId: number, n: number): Promise<StoredChunk[] | undefined> {
  const key = { collection_id: ref.collection, document_id: ref.documentId };
  const center = (await db('chunks').select('ordinal').where(key).where('id', chunkId).first()) as { ordinal: number } | undefined;
  if (!center) return undefined;
  const rows = (await db('chunks')
    .select('id', 'ordinal', 'text', 'char_start', 'char_end')
    .where(key)
    .whereBetween('ordinal', [center.ordinal - n, center.ordinal + n])
    .orderBy('ordinal')) as ChunkRow[];
  return rows.map(toStoredChunk);
}

interface ChunkRow {
  id: number;
  ordinal: number;
  text: string;
  char_start: number | null;
  char_end: number | null;
}

function toStoredChunk(row: ChunkRow): StoredChunk {
  return { id: Number(row.id), ordinal: row.ordinal, text: row.text, start: row.char_start, end: row.char_end };
}

export async function chunkIdsOf(trx: Knex, documentIds: string[], collection = DEFAULT_COLLECTION): Promise<number[]> {
  const ids: number[] = [];
  for (let start = 0; start < documentIds.length; start += BATCH) {
    const rows = (await trx('chunks')
      .select('id')
      .where('collection_id', collection)
      .whereIn('document_id', documentIds.slice(start, start + BATCH))) as Array<{ id: number }>;
    ids.push(...rows.map((row) => row.id));
  }
  return ids;
}

/** Deletes the chunks with their lexical entries and logs each delete; call it inside logWriteTransaction. */
export async function deleteChunksWithLog(trx: Knex, chunkIds: number[], collection = DEFAULT_COLLECTION): Promise<number> {
  await appendLog(trx, 'delete', chunkIds, collection);
  await deleteLexicalEntries(trx, chunkIds);
  for (let start = 0; start < chunkIds.length; start += BATCH) {
    const batch = chunkIds.slice(start, start + BATCH);
    await trx('generation_embeddings').where('collection_id', collection).whereIn('chunk_id', batch).delete();
    await trx('chunks').whereIn('id', batch).delete();
  }
  return chunkIds.length;
}

/** Logs one row per chunk; call it inside logWriteTransaction. `meta`: the chunks' metadata changed in place. */
export async function appendLog(trx: Knex, op: 'add' | 'delete' | 'meta', chunkIds: number[], collection: string): Promise<void> {
  for (let start = 0; start < chunkIds.length; start += BATCH) {
    await trx('vector_log').insert(chunkIds.slice(start, start + BATCH).map((chunkId) => ({ op, chunk_id: chunkId, collection_id: collection })));
  }
}
