/**
 * Sources an answer can be checked against. Chunks record the span [char_start, char_end) of the
 * document text they were cut from (UTF-16 code units, as JavaScript strings index) and the
 * document revision whose text that is; rows written before this migration have nulls. Each
 * answer's sources are stored with the quoted text as it was when the answer was made, so they stay
 * readable after the document is replaced or removed; they go with their message.
 * Documents record the SHA-256 of the file an upload came from, so a folder sync can skip files the
 * server already has without sending them again.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('chunks', (t) => {
    t.integer('char_start').nullable();
    t.integer('char_end').nullable();
    t.integer('revision').nullable();
  });
  await knex.schema.alterTable('documents', (t) => {
    t.string('file_hash', 64).nullable();
  });
  await knex.schema.createTable('answer_sources', (t) => {
    t.integer('message_id').notNullable().references('id').inTable('chat_messages').onDelete('CASCADE');
    t.integer('source_number').notNullable(); // n of the answer's [n]
    t.string('document_id', 128).notNullable();
    t.integer('revision').nullable(); // null: the chunk predates recorded revisions
    t.bigInteger('chunk_id').notNullable();
    t.integer('ordinal').nullable(); // null: the chunk was replaced between retrieval and the answer's commit
    t.integer('char_start').nullable();
    t.integer('char_end').nullable();
    t.double('score').notNullable();
    t.double('vector_score').nullable();
    t.text('title').nullable();
    t.text('quote').notNullable();
    t.integer('quote_chars').notNullable(); // length of the whole chunk text; more than quote's when it was cut
    t.primary(['message_id', 'source_number']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('answer_sources');
  await knex.schema.alterTable('documents', (t) => {
    t.dropColumn('file_hash');
  });
  await knex.schema.alterTable('chunks', (t) => {
    t.dropColumn('char_start');
    t.dropColumn('char_end');
    t.dropColumn('revision');
  });
}
