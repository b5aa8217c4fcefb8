/**
 * The lexical index beside the chunks (DESIGN.md §12), filled from the chunks already stored.
 * SQLite: a contentless FTS5 table whose rowid is the chunk id; it stores the folded words of each
 * chunk, and its tokenizer folds case and accents again, which changes nothing.
 * Postgres: chunk_terms (chunk_id → chunks, cascade) with a tsvector built in TypeScript and a GIN
 * index; no text search configuration, dictionary or extension is involved.
 * Migrations build before shared/, so the code that writes entries is passed in (migrate.ts passes
 * writeLexicalEntries): the back-fill writes exactly what an ingest writes.
 */
import type { Knex } from 'knex';

export type WriteLexicalEntries = (trx: Knex, chunks: ReadonlyArray<{ id: number; text: string }>) => Promise<void>;

const BACKFILL_BATCH = 500;

export function createChunkTermsMigration(writeEntries: WriteLexicalEntries): Knex.Migration {
  return {
    async up(knex) {
      if ((knex.client as { dialect?: unknown }).dialect === 'postgresql') {
        await knex.raw('create table chunk_terms (chunk_id integer primary key references chunks(id) on delete cascade, terms tsvector not null)');
        await knex.raw('create index chunk_terms_terms on chunk_terms using gin (terms)');
      } else {
        await knex.raw("create virtual table chunk_terms using fts5(body, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')");
      }
      for (let afterId = 0; ;) {
        const rows = (await knex('chunks').select('id', 'text').where('id', '>', afterId).orderBy('id').limit(BACKFILL_BATCH)) as Array<{
          id: number;
          text: string;
        }>;
        if (rows.length === 0) break;
        await writeEntries(knex, rows);
        afterId = rows[rows.length - 1]?.id ?? afterId;
      }
    },
    async down(knex) {
      await knex.raw('drop table chunk_terms');
    },
  };
}
