/**
 * How far vector_log has been compacted: rows up to through_seq were deleted once every live
 * worker's checkpoint had passed them. A checkpoint older than that cannot catch up by replay: the
 * worker that loads it rebuilds from the chunks table instead.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('log_compaction', (t) => {
    t.integer('id').primary(); // always 1
    t.bigInteger('through_seq').notNullable();
  });
  await knex('log_compaction').insert({ id: 1, through_seq: 0 });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('log_compaction');
}
