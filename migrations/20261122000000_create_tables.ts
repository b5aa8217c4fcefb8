/**
 * The durable state of colmeia. Chunk ids are the HNSW labels; vector_log is the index's
 * change feed; metadata is jsonb on Postgres and JSON text on SQLite; times are epoch milliseconds.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('documents', (t) => {
    t.string('id', 128).primary();
    t.text('title').nullable();
    t.jsonb('metadata').notNullable();
    t.text('content').notNullable();
    t.string('content_hash', 64).notNullable();
    t.string('indexed_hash', 64).nullable(); // content_hash of the chunks now stored; equal means nothing to re-embed
    t.integer('revision').notNullable().defaultTo(1); // bumped by every POST; older ingest jobs are superseded
    t.string('status', 16).notNullable();
    t.text('error').nullable();
    t.integer('chunk_count').notNullable().defaultTo(0);
    t.integer('attempts').notNullable().defaultTo(0); // ingest attempts of this revision, stalls included
    t.string('request_id', 128).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['status', 'updated_at']);
  });
  await knex.schema.createTable('chunks', (t) => {
    t.increments('id').primary();
    t.string('document_id', 128).notNullable().references('id').inTable('documents');
    t.integer('ordinal').notNullable();
    t.text('text').notNullable();
    t.jsonb('metadata').notNullable();
    t.binary('embedding').notNullable(); // float32 little-endian
    t.unique(['document_id', 'ordinal']);
  });
  await knex.schema.createTable('vector_log', (t) => {
    t.bigIncrements('seq').primary();
    t.string('op', 8).notNullable(); // add | delete
    t.integer('chunk_id').notNullable();
  });
  await knex.schema.createTable('index_meta', (t) => {
    t.integer('id').primary(); // always 1
    t.string('embedder', 200).notNullable();
    t.integer('dimension').notNullable();
    t.string('instance_id', 64).notNullable(); // names this database, so a checkpoint of another one is never loaded
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('chat_sessions', (t) => {
    t.string('id', 64).primary();
    t.text('title').nullable();
    t.bigInteger('created_at').notNullable();
  });
  await knex.schema.createTable('chat_messages', (t) => {
    t.increments('id').primary();
    t.string('session_id', 64).notNullable().references('id').inTable('chat_sessions');
    t.string('role', 16).notNullable(); // user | assistant
    t.text('content').notNullable();
    t.jsonb('metadata').notNullable();
    t.integer('reply_to').nullable().unique(); // the user message an assistant message answers: one answer per question
    t.bigInteger('created_at').notNullable();
    t.index(['session_id', 'id']);
  });
  await knex.schema.createTable('job_outcomes', (t) => {
    t.string('queue', 16).notNullable();
    t.string('job_id', 200).notNullable();
    t.string('status', 16).notNullable(); // succeeded | failed | cancelled
    t.integer('attempts').notNullable().defaultTo(0);
    t.jsonb('result').nullable();
    t.jsonb('error').nullable();
    t.string('request_id', 128).nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['queue', 'job_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['job_outcomes', 'chat_messages', 'chat_sessions', 'index_meta', 'vector_log', 'chunks', 'documents']) {
    await knex.schema.dropTableIfExists(table);
  }
}
