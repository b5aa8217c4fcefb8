/**
 * Idempotency-Key records (POST /chat/sessions/:id/messages and friends): a client's retry of a
 * request with the same key gets the stored response instead of a second message and job.
 * `key` is a digest of the client's identity and its key, never the raw header; expired rows are purged.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('idempotency_keys', (t) => {
    t.string('key', 64).primary(); // sha256(client scope, Idempotency-Key header), hex
    t.string('request_hash', 64).notNullable(); // sha256(method, route, parsed body): a reuse with another request is refused
    t.integer('status_code').notNullable();
    t.jsonb('response').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('idempotency_keys');
}
