/**
 * API keys stored in SQL (DESIGN.md §13): a role (read, write, admin) and a collection scope each.
 * Only the SHA-256 of a key is kept (keys are 256-bit random, so a digest cannot be turned back into
 * one); the key itself is shown once, when it is created. A revoked key keeps its row, so a revocation
 * is visible in GET /keys and authentication stays on after the last key is revoked.
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
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('api_keys');
}
