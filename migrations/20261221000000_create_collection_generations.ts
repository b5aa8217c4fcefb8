/**
 * Reindex generations of one collection (DESIGN.md §13). A collection's vectors belong to a
 * generation: `collection_generations` records each one's embedder spec (`builtin`,
 * `builtin:<dimension>` or `ollama:<model>`) and its fingerprint (the embedder id with the model's
 * digest, and the dimension) once a worker claimed it; `collections.generation` names the current
 * one and `collections.building_generation` the one a reindex is building. A build stages its
 * vectors in `generation_embeddings`, beside the current ones in `chunks.embedding`; each chunk
 * records the generation whose model embedded it. The global `reindex_embeddings` staging goes,
 * and index_meta keeps only the database's identity (its embedder becomes the fingerprint of every
 * existing collection's first generation, since they were all made by the deployment's embedder).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('collection_generations', (t) => {
    t.string('collection_id', 64).notNullable();
    t.integer('generation').notNullable();
    t.string('embedder', 200).notNullable(); // the spec the collection's owner chose
    t.string('fingerprint', 300).nullable(); // the embedder id a worker first served it with (model digest, dimension)
    t.integer('dimension').nullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['collection_id', 'generation']);
  });
  await knex.schema.createTable('generation_embeddings', (t) => {
    t.string('collection_id', 64).notNullable();
    t.integer('generation').notNullable();
    t.bigInteger('chunk_id').notNullable();
    t.binary('embedding').notNullable();
    t.primary(['collection_id', 'generation', 'chunk_id']);
  });
  await knex.schema.alterTable('collections', (t) => {
    t.integer('generation').notNullable().defaultTo(1);
    t.integer('building_generation').nullable();
  });
  await knex.schema.alterTable('chunks', (t) => {
    t.integer('generation').notNullable().defaultTo(1);
  });
  const meta = (await knex('index_meta').select('embedder', 'dimension').where({ id: 1 }).first()) as { embedder: string; dimension: number } | undefined;
  const collections: Array<{ id: string; embedder: string }> = await knex('collections').select('id', 'embedder');
  for (const c of collections) {
    const spec = specOf(c.embedder, meta?.embedder);
    await knex('collections').where({ id: c.id }).update({ embedder: spec });
    await knex('collection_generations').insert({
      collection_id: c.id,
      generation: 1,
      embedder: spec,
      fingerprint: meta?.embedder ?? null,
      dimension: meta?.dimension ?? null,
      created_at: Date.now(),
    });
  }
  await knex.schema.dropTableIfExists('reindex_embeddings');
}

/** `builtin` and `ollama` (what collections recorded before) as a spec; the model comes from the recorded embedder id. */
function specOf(recorded: string, embedderId: string | undefined): string {
  if (recorded !== 'ollama') return recorded;
  const model = /^ollama:(.+):[0-9a-f]{12}:[1-9][0-9]*$/.exec(embedderId ?? '')?.[1] ?? 'nomic-embed-text';
  return `ollama:${model}`;
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.createTable('reindex_embeddings', (t) => {
    t.integer('chunk_id').primary();
    t.binary('embedding').notNullable();
  });
  await knex.schema.alterTable('chunks', (t) => t.dropColumn('generation'));
  await knex.schema.alterTable('collections', (t) => {
    t.dropColumn('generation');
    t.dropColumn('building_generation');
  });
  await knex.schema.dropTable('generation_embeddings');
  await knex.schema.dropTable('collection_generations');
}
