/** Staging for `npm run reindex`: new embeddings are written here first, then swapped in one transaction. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('reindex_embeddings', (t) => {
    t.integer('chunk_id').primary();
    t.binary('embedding').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('reindex_embeddings');
}
