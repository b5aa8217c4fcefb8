/**
 * Payload indexes declared per collection (POST /collections/:c/indexes): a metadata field, as the
 * `where` language names it, and the type of value it holds. Workers keep postings of each
 * declared field beside their HNSW index and learn of a declaration through an `index` row of the
 * collection's vector_log.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('payload_indexes', (t) => {
    t.string('collection_id', 64).notNullable();
    t.string('field', 64).notNullable(); // a where field name: dots mean nesting
    t.string('type', 8).notNullable(); // keyword | number | bool
    t.bigInteger('created_at').notNullable();
    t.primary(['collection_id', 'field']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('payload_indexes');
}
