/**
 * The embedder of one generation of a collection, checked against the fingerprint recorded for it
 * (DESIGN.md §13): the first worker to serve a generation records its embedder id (model digest and
 * dimension); any later one whose model answers with another id must not mix its vectors in. A
 * collection whose embedder cannot be had is degraded: CollectionDegradedError is a plain Error, so
 * a job that meets it is retried, and the search processor turns it into a 503 naming the embedder.
 */
import type { Knex } from 'knex';
import { claimGenerationFingerprint, type GenerationRecord } from '../../../shared/src/db/generations-repo.js';
import { publicMessage } from '../../../shared/src/public-message.js';
import type { Embedder } from './embedder.js';
import type { EmbedderRegistry } from './embedder-registry.js';

export class CollectionDegradedError extends Error {
  constructor(
    readonly collection: string,
    readonly spec: string,
    readonly reason: string,
  ) {
    super(`collection ${collection}: its embedder ${spec} is unavailable: ${reason}`);
    this.name = 'CollectionDegradedError';
  }
}

export interface GenerationEmbedder {
  embedder: Embedder;
  fingerprint: string;
  dimension: number;
}

export async function embedderForGeneration(
  s: { db: Knex; embedders: EmbedderRegistry },
  collection: string,
  generation: GenerationRecord,
): Promise<GenerationEmbedder> {
  let embedder: Embedder;
  try {
    embedder = await s.embedders.get(generation.embedder, generation.fingerprint);
  } catch (err) {
    throw new CollectionDegradedError(collection, generation.embedder, err instanceof Error ? publicMessage(err) : String(err));
  }
  const recorded =
    generation.fingerprint !== null && generation.dimension !== null
      ? { fingerprint: generation.fingerprint, dimension: generation.dimension }
      : await claimGenerationFingerprint(s.db, collection, generation.generation, embedder);
  if (recorded.fingerprint !== embedder.id) {
    throw new CollectionDegradedError(
      collection,
      generation.embedder,
      `its vectors were made by ${recorded.fingerprint}, but the model now answers as ${embedder.id}; reindex the collection`,
    );
  }
  return { embedder, ...recorded };
}
