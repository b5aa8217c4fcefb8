/**
 * Where each chunk lies in its document's text (span_start, span_end: `content.slice(start, end)`
 * is the chunk; null for chunks committed before spans were stored, until their document is
 * ingested again), and the vector_log seq of the commit that made a document's revision
 * searchable (documents.seq; null until then), so writes can answer with their sequence number.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('chunks', (t) => {
    t.integer('span_start').nullable();
    t.integer('span_end').nullable();
  });
  await knex.schema.alterTable('documents', (t) => {
    t.bigInteger('seq').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('documents', (t) => {
    t.dropColumn('seq');
  });
  await knex.schema.alterTable('chunks', (t) => {
    t.dropColumn('span_end');
    t.dropColumn('span_start');
  });
}
