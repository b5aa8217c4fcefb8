/**
 * Collections of synthetic chunks for the collections phase: the database of a stack opened
 * in-process with its index identity claimed (as a worker would), and a collection created through
 * the collections repo and filled through the same loader as the synthetic phase, so its rows are
 * the real rows a worker rebuilds or checkpoints its index from.
 */
import type { Knex } from 'knex';
import { createCollection } from '../../shared/src/db/collections-repo.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { claimIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { createBuiltinEmbedder } from '../../worker/src/embedders/builtin.js';
import type { Embedder } from '../../worker/src/embedders/embedder.js';
import type { StackHandle } from './bench-context.js';
import { loadSyntheticDocuments, type SyntheticLoad } from './synthetic-documents.js';

export interface SyntheticDatabase {
  db: Knex;
  embedder: Embedder;
}

export async function openSyntheticDatabase(handle: StackHandle): Promise<SyntheticDatabase> {
  const embedder = createBuiltinEmbedder(handle.config.BUILTIN_EMBED_DIM);
  const db = await openDatabase(handle.config, handle.logger);
  await claimIndexMeta(db, embedder.id, embedder.dimension);
  return { db, embedder };
}

/** Creates collection `id` and loads `vectors` into it, with `chunkText` as the chunks' texts. */
export async function loadSyntheticCollection(
  db: Knex,
  input: { id: string; vectors: readonly number[][]; chunkText: (index: number) => string },
): Promise<SyntheticLoad> {
  const created = await createCollection(db, { id: input.id, title: `synthetic ${input.id}`, embedder: 'builtin', metadata: {} });
  if (!created) throw new Error(`collection ${input.id} exists already`);
  return loadSyntheticDocuments(db, input.vectors, { collection: input.id, idPrefix: `${input.id}-`, chunkText: input.chunkText });
}
