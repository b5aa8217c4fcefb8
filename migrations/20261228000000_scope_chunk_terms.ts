/**
 * The lexical index per collection: every entry is written again with its collection's scoped terms
 * (shared/src/db/lexical-terms.ts scopeTerms), so a lexical search reads only its collection's
 * posting lists. The table and its index stay; only the stored words change. As in
 * 20261210000000_create_chunk_terms, the code that writes entries is passed in (migrate.ts), so
 * the rewrite is exactly what an ingest writes.
 */
import type { Knex } from 'knex';

export type RewriteLexicalEntries = (trx: Knex, chunks: ReadonlyArray<{ id: number; text: string; collection: string }>) => Promise<void>;

const REWRITE_BATCH = 500;

export function createScopeChunkTermsMigration(rewriteEntries: RewriteLexicalEntries): Knex.Migration {
  return {
    async up(knex) {
      for (let afterId = 0; ;) {
        const rows = (await knex('chunks').select('id', 'text', 'collection_id').where('id', '>', afterId).orderBy('id').limit(REWRITE_BATCH)) as Array<{
          id: number;
          text: string;
          collection_id: string;
        }>;
        if (rows.length === 0) break;
        await rewriteEntries(
          knex,
          rows.map((row) => ({ id: row.id, text: row.text, collection: row.collection_id })),
        );
        afterId = rows[rows.length - 1]?.id ?? afterId;
      }
    },
    async down() {
      throw new Error('20261228000000_scope_chunk_terms cannot be rolled back; restore a backup taken before it');
    },
  };
}
