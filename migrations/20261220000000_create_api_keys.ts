/**
 * API keys stored in SQL (DESIGN.md §13): a role (read, write, admin) and a collection scope each.
 * Only the SHA-256 of a key is kept (keys are 256-bit random, so a digest cannot be turned back into
 * one); the key itself is shown once, when it is created. A revoked key keeps its row, so a revocation
 * is visible in GET /keys and authentication stays on after the last key is revoked.
 * Jobs also name their collection (from the payload, which always carried it), so GET /jobs lists
 * only the jobs of a key's collections with one indexed query.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_keys', (t) => {
    t.string('id', 32).primary(); // key_<24 hex>: the non-secret name logs and GET /keys use
    t.string('secret_hash', 64).notNullable().unique(); // sha256(key), hex
    t.text('name').notNullable();
    t.string('role', 8).notNullable(); // read | write | admin
    t.jsonb('collections').notNullable(); // ["*"] (every collection, those created later too) or collection ids
    t.bigInteger('created_at').notNullable();
    t.bigInteger('revoked_at').nullable();
    t.bigInteger('last_used_at').nullable();
  });
  await knex.schema.alterTable('jobs', (t) => {
    t.string('collection_id', 64).notNullable().defaultTo('default');
  });
  const isPostgres = (knex.client as { dialect?: unknown }).dialect === 'postgresql';
  const payloadCollection = isPostgres ? "data->>'collection'" : "json_extract(data, '$.collection')";
  await knex.raw(`update jobs set collection_id = ${payloadCollection} where ${payloadCollection} is not null`);
  await knex.schema.alterTable('jobs', (t) => t.index(['collection_id', 'updated_at']));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('jobs', (t) => t.dropIndex(['collection_id', 'updated_at']));
  await knex.schema.alterTable('jobs', (t) => t.dropColumn('collection_id'));
  await knex.schema.dropTableIfExists('api_keys');
}
