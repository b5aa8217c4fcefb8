/**
 * All SQL on the generations of a collection (DESIGN.md §13). A collection's vectors belong to its
 * current generation; a reindex builds the next one beside it: its vectors are staged in
 * generation_embeddings, keyed by generation, while searches keep using chunks.embedding. The swap
 * is one log transaction: the staged vectors replace the chunks' embeddings, the generation becomes
 * current and one `swap` row in the collection's change log tells every worker to rebuild that
 * collection's index. Ingest commits are fenced on the generation (chunks-repo.ts).
 */
import type { Knex } from 'knex';
import { encodeEmbedding, nowMs } from './columns.js';
import { logWriteTransaction } from './write-transaction.js';

export interface GenerationRecord {
  generation: number;
  embedder: string; // the spec: builtin, builtin:<dimension> or ollama:<model>
  fingerprint: string | null; // the embedder id a worker recorded for it (model digest, dimension); null until one did
  dimension: number | null;
}

export interface CollectionGenerations {
  uid: string;
  current: GenerationRecord;
  building: GenerationRecord | null; // what a running reindex is building
}

/** A commit's vectors were made for a generation that is no longer the one to write (a reindex started or swapped meanwhile). */
export class GenerationChangedError extends Error {
  constructor(collection: string, message: string) {
    super(`collection ${collection}: ${message}; the chunks are embedded again`);
    this.name = 'GenerationChangedError';
  }
}

const BATCH = 500;

/** The collection's current generation and the one being built; undefined when it does not exist. */
export async function readCollectionGenerations(db: Knex, collection: string): Promise<CollectionGenerations | undefined> {
  const row = (await db('collections').select('uid', 'generation', 'building_generation').where({ id: collection }).first()) as
    { uid: string; generation: number; building_generation: number | null } | undefined;
  if (!row) return undefined;
  const wanted = row.building_generation === null ? [row.generation] : [row.generation, row.building_generation];
  const rows = (await db('collection_generations')
    .select('generation', 'embedder', 'fingerprint', 'dimension')
    .where({ collection_id: collection })
    .whereIn('generation', wanted)) as GenerationRecord[];
  const current = rows.find((r) => r.generation === row.generation);
  if (!current) throw new Error(`collection ${collection} has no row for its generation ${row.generation}`);
  return { uid: row.uid, current, building: rows.find((r) => r.generation === row.building_generation) ?? null };
}

/**
 * A fresh database's default collection takes the deployment's embedder (EMBEDDER, EMBED_MODEL):
 * until a worker records a fingerprint for its first generation nothing was embedded, so the spec
 * the migration gave it is only a placeholder.
 */
export async function adoptDefaultEmbedder(db: Knex, collection: string, spec: string): Promise<void> {
  await db.transaction(async (trx) => {
    const changed = await trx('collection_generations').where({ collection_id: collection, generation: 1 }).whereNull('fingerprint').update({ embedder: spec });
    if (changed > 0) await trx('collections').where({ id: collection, generation: 1 }).update({ embedder: spec });
  });
}

export async function insertGeneration(trx: Knex, collection: string, generation: number, embedder: string): Promise<void> {
  await trx('collection_generations').insert({ collection_id: collection, generation, embedder, fingerprint: null, dimension: null, created_at: nowMs() });
}

/** Records the fingerprint of a generation the first time a worker serves it; returns what is recorded (which may differ). */
export async function claimGenerationFingerprint(
  db: Knex,
  collection: string,
  generation: number,
  fingerprint: { id: string; dimension: number },
): Promise<{ fingerprint: string; dimension: number }> {
  const key = { collection_id: collection, generation };
  await db('collection_generations').where(key).whereNull('fingerprint').update({ fingerprint: fingerprint.id, dimension: fingerprint.dimension });
  const row = (await db('collection_generations').select('fingerprint', 'dimension').where(key).first()) as
    { fingerprint: string | null; dimension: number | null } | undefined;
  if (!row?.fingerprint || row.dimension === null) throw new Error(`collection ${collection} has no generation ${generation}`);
  return { fingerprint: row.fingerprint, dimension: row.dimension };
}

/**
 * Starts building the next generation with `embedder`; call it in the transaction that records the
 * reindex job. Undefined when a build is already under way (the generation it builds is returned as `busy`).
 */
export async function startGeneration(trx: Knex, collection: string, embedder: string): Promise<{ generation: number } | { busy: number } | undefined> {
  const row = (await trx('collections').select('building_generation').where({ id: collection, status: 'active' }).first()) as
    { building_generation: number | null } | undefined;
  if (!row) return undefined;
  if (row.building_generation !== null) return { busy: row.building_generation };
  const newest = (await trx('collection_generations').where({ collection_id: collection }).max({ g: 'generation' }).first()) as
    { g: number | null } | undefined;
  const generation = Number(newest?.g ?? 0) + 1;
  await insertGeneration(trx, collection, generation, embedder);
  await trx('collections').where({ id: collection }).update({ building_generation: generation });
  return { generation };
}

/** Chunks (id, text) of the collection after `afterId` that have no vector of `generation` staged yet. */
export async function readUnstagedChunks(
  db: Knex,
  collection: string,
  generation: number,
  afterId: number,
  limit: number,
): Promise<Array<{ id: number; text: string }>> {
  const rows: Array<{ id: number; text: string }> = await db('chunks as c')
    .leftJoin('generation_embeddings as g', function staged() {
      this.on('g.chunk_id', '=', 'c.id')
        .andOn('g.collection_id', '=', 'c.collection_id')
        .andOn('g.generation', '=', db.raw('?', [generation]));
    })
    .whereNull('g.chunk_id')
    .where('c.collection_id', collection)
    .where('c.id', '>', afterId)
    .orderBy('c.id')
    .limit(limit)
    .select('c.id', 'c.text');
  return rows;
}

export async function stageEmbeddings(
  db: Knex,
  collection: string,
  generation: number,
  rows: ReadonlyArray<{ id: number; embedding: number[] }>,
): Promise<void> {
  for (let start = 0; start < rows.length; start += BATCH) {
    await db('generation_embeddings')
      .insert(
        rows.slice(start, start + BATCH).map((row) => ({ collection_id: collection, generation, chunk_id: row.id, embedding: encodeEmbedding(row.embedding) })),
      )
      .onConflict(['collection_id', 'generation', 'chunk_id'])
      .merge();
  }
}

/** Staged vectors of `generation` and the collection's chunks in all: a build's progress. */
export async function countStaged(db: Knex, collection: string, generation: number): Promise<{ staged: number; chunks: number }> {
  const count = async (query: Knex.QueryBuilder) => Number(((await query.count({ n: '*' }).first()) as { n: number | string } | undefined)?.n ?? 0);
  const [staged, chunks] = await Promise.all([
    count(db('generation_embeddings').where({ collection_id: collection, generation })),
    count(db('chunks').where({ collection_id: collection })),
  ]);
  return { staged, chunks };
}

export type SwapOutcome = { status: 'swapped'; chunks: number } | { status: 'superseded' };

/**
 * Makes `generation` current in one log transaction. `embedMissing` embeds chunks that still lack a
 * staged vector (it runs under the write lock, so nothing slips in unconverted); then the staged
 * vectors replace the chunks' embeddings, every staged row of the collection goes, and one `swap`
 * row is logged. Superseded when the generation is no longer the one being built.
 */
export async function swapGeneration(
  db: Knex,
  target: { collection: string; generation: number },
  embedMissing: (chunks: Array<{ id: number; text: string }>) => Promise<number[][]>,
  onCommit: (trx: Knex, chunks: number) => Promise<void> = async () => undefined,
): Promise<SwapOutcome> {
  const { collection, generation } = target;
  return logWriteTransaction(db, async (trx) => {
    const row = (await trx('collections').select('building_generation').where({ id: collection }).first()) as
      { building_generation: number | null } | undefined;
    if (row?.building_generation !== generation) return { status: 'superseded' };
    for (let missing = await readUnstagedChunks(trx, collection, generation, 0, BATCH); missing.length > 0;) {
      const vectors = await embedMissing(missing);
      await stageEmbeddings(
        trx,
        collection,
        generation,
        missing.map((chunk, i) => ({ id: chunk.id, embedding: vectors[i] ?? [] })),
      );
      missing = await readUnstagedChunks(trx, collection, generation, missing.at(-1)?.id ?? 0, BATCH);
    }
    const staged = trx('generation_embeddings as g')
      .select('g.embedding')
      .where('g.collection_id', collection)
      .where('g.generation', generation)
      .where('g.chunk_id', trx.ref('chunks.id'));
    const chunks = await trx('chunks').where({ collection_id: collection }).update({ embedding: staged, generation });
    await trx('generation_embeddings').where({ collection_id: collection }).delete(); // this build's rows and any abandoned one's
    const built = (await trx('collection_generations').select('embedder').where({ collection_id: collection, generation }).first()) as { embedder: string };
    await trx('collections').where({ id: collection }).update({ generation, building_generation: null, embedder: built.embedder });
    await trx('vector_log').insert({ op: 'swap', chunk_id: 0, collection_id: collection });
    await onCommit(trx, chunks);
    return { status: 'swapped', chunks };
  });
}

/** A build that gave up: the collection stays on its current generation and the staged vectors go. */
export async function abandonGeneration(db: Knex, collection: string, generation: number): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('collections').where({ id: collection, building_generation: generation }).update({ building_generation: null });
    await trx('generation_embeddings').where({ collection_id: collection, generation }).delete();
  });
}
