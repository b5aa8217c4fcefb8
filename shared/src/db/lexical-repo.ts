/**
 * All SQL on the lexical index: SQLite keeps a contentless FTS5 table `chunk_terms` (rowid = chunk
 * id, bm25 ranking), Postgres a table `chunk_terms (chunk_id, terms tsvector)` with a GIN index
 * (ts_rank_cd ranking). Entries are written and deleted inside the transactions that write and
 * delete chunks (chunks-repo.ts), so no process holds lexical state and none can be behind.
 */
import type { Knex } from 'knex';
import { DEFAULT_COLLECTION } from '../input.js';
import { ftsDocument, ftsQuery, queryTerms, scopeTerms, tsqueryLiteral, tsvectorLiteral } from './lexical-terms.js';
import { compileWhere, dialectOf, type Where } from './where.js'; // not connection.js: migrate.ts imports this module

const BATCH = 200;

export interface LexicalHit {
  chunkId: number;
  score: number; // higher is better: -bm25 on SQLite, ts_rank_cd on Postgres
}

export interface LexicalEntry {
  id: number; // the chunk's
  text: string;
  collection?: string | undefined; // default: the default collection
}

/** Indexes the text of new chunks, each under its collection's terms; call it in the transaction that inserts them. */
export async function writeLexicalEntries(trx: Knex, chunks: readonly LexicalEntry[]): Promise<void> {
  const isPostgres = dialectOf(trx) === 'postgres';
  for (let start = 0; start < chunks.length; start += BATCH) {
    const batch = chunks.slice(start, start + BATCH);
    if (isPostgres) {
      const values = batch.map(() => '(?, ?::tsvector)').join(', ');
      await trx.raw(
        `insert into chunk_terms (chunk_id, terms) values ${values}`,
        batch.flatMap((c) => [c.id, tsvectorLiteral(c.collection ?? DEFAULT_COLLECTION, c.text)]),
      );
    } else {
      const values = batch.map(() => '(?, ?)').join(', ');
      await trx.raw(
        `insert into chunk_terms (rowid, body) values ${values}`,
        batch.flatMap((c) => [c.id, ftsDocument(c.collection ?? DEFAULT_COLLECTION, c.text)]),
      );
    }
  }
}

/** Writes the entries of stored chunks again (the scoping migration): what an ingest would write now. */
export async function rewriteLexicalEntries(trx: Knex, chunks: readonly LexicalEntry[]): Promise<void> {
  await deleteLexicalEntries(
    trx,
    chunks.map((chunk) => chunk.id),
  );
  await writeLexicalEntries(trx, chunks);
}

/** Removes the entries of deleted chunks; call it in the transaction that deletes them. */
export async function deleteLexicalEntries(trx: Knex, chunkIds: readonly number[]): Promise<void> {
  const key = dialectOf(trx) === 'postgres' ? 'chunk_id' : 'rowid';
  for (let start = 0; start < chunkIds.length; start += BATCH) {
    await trx('chunk_terms')
      .whereIn(key, chunkIds.slice(start, start + BATCH))
      .delete();
  }
}

/**
 * The best `limit` chunks of `collection` for the words of `query` (any of them), restricted to
 * `where` when given. The engine matches the collection's own terms only (scopeTerms), and its
 * matches are joined to their chunk by primary key, so the cost follows the collection's matches.
 */
export async function searchLexical(db: Knex, query: string, limit: number, where?: Where, collection = DEFAULT_COLLECTION): Promise<LexicalHit[]> {
  const words = queryTerms(query);
  if (words.length === 0 || limit <= 0) return [];
  const terms = scopeTerms(collection, words);
  const dialect = dialectOf(db);
  const filter = where === undefined ? undefined : compileWhere(where, 'c.metadata', dialect); // as chunkIdsMatching: the metadata the chunk was committed with
  const within = filter ? `and (${filter.sql})` : '';
  const sql =
    dialect === 'postgres'
      ? `select t.chunk_id as chunk_id, ts_rank_cd(t.terms, q.query, 1) as score from chunk_terms t join chunks c on c.id = t.chunk_id,
         (select ?::tsquery as query) q
         where t.terms @@ q.query and c.collection_id = ? ${within} order by score desc, t.chunk_id limit ?`
      : `select chunk_terms.rowid as chunk_id, -bm25(chunk_terms) as score from chunk_terms join chunks c on c.id = chunk_terms.rowid
         where chunk_terms match ? and c.collection_id = ? ${within} order by bm25(chunk_terms), chunk_terms.rowid limit ?`;
  const match = dialect === 'postgres' ? tsqueryLiteral(terms) : ftsQuery(terms);
  const result: unknown = await db.raw(sql, [match, collection, ...(filter?.bindings ?? []), limit]);
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ chunk_id: number | string; score: number | string }>;
  return rows.map((row) => ({ chunkId: Number(row.chunk_id), score: Number(row.score) }));
}
