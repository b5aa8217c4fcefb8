/**
 * The vector_log seq of the commit that made a document's revision searchable (documents.seq; null
 * until then), so writes can answer with their sequence number. (Chunk spans are chunks.char_start
 * and char_end, added with the answer sources.)
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('documents', (t) => {
    t.bigInteger('seq').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('documents', (t) => {
    t.dropColumn('seq');
  });
}
