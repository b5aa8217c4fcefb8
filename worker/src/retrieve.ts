/**
 * Retrieval, the one code path behind POST /search and the answer job (DESIGN.md §12). Vector side:
 * sync the index, embed the query, search it (within the `where` filter: from the payload index when
 * it declares every field the filter reads, else the filter's chunk ids from SQL).
 * Lexical side: the SQL index committed with the chunks, the same filter joined in SQL. Hybrid
 * takes max(k, HYBRID_CANDIDATES) candidates from each side and fuses them by weighted reciprocal
 * rank (rank-fusion.ts).
 * Rows are hydrated last: chunks deleted after a side saw them are dropped, so only committed rows
 * are ever returned.
 */
import type { SearchHit, SearchMode } from '../../shared/src/jobs/search.js';
import { chunkIdsMatching, findChunks } from '../../shared/src/db/chunks-repo.js';
import { searchLexical } from '../../shared/src/db/lexical-repo.js';
import type { WhereAst } from '../../shared/src/db/where.js';
import { fuseRanks, singleSide, type FusedHit, type SideHit } from './rank-fusion.js';
import type { Services } from './services.js';
import type { Embedder } from './embedders/embedder.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import type { VectorIndex } from './vectors/vector-index.js';
import type { ServingIndex } from './vectors/collection-indexes.js';
import { CollectionDegradedError } from './embedders/generation-embedder.js';

export type RetrieveServices = Pick<Services, 'config' | 'db'> & { indexes: IndexSource };

/** Where retrieval finds a collection's index, synced, with the embedder of its generation (CollectionIndexes in the worker). */
export interface IndexSource {
  synced(collection: string): Promise<VectorIndex>;
  serving(collection: string): Promise<ServingIndex>;
}

export interface RetrieveQuery {
  collection?: string | undefined; // searched alone, its index and its lexical rows; default: the default collection
  query: string;
  k: number;
  where?: WhereAst | undefined; // parsed and bounded by the API
  mode?: SearchMode | undefined; // default hybrid
  minScore?: number | undefined; // drop hits whose `score` is lower
  context?: string | undefined; // earlier turns of a conversation: searched too, with less weight (see embedQuery)
}

/** Weight of the conversation's earlier turns in the query vector, the question's being 1. */
const CONTEXT_WEIGHT = 0.5;

export async function retrieve(s: RetrieveServices, input: RetrieveQuery, signal?: AbortSignal): Promise<SearchHit[]> {
  const collection = input.collection ?? DEFAULT_COLLECTION;
  const mode = input.mode ?? 'hybrid';
  const depth = mode === 'hybrid' ? Math.max(input.k, s.config.HYBRID_CANDIDATES) : input.k;
  const lexicalText = input.context === undefined ? input.query : `${input.query}\n${input.context}`;
  const serving = mode === 'lexical' ? await mustExist(s, collection) : await s.indexes.serving(collection); // NotFoundError, CollectionDegradedError
  const [vector, lexical] = await Promise.all([
    serving === null ? [] : searchVectors(s, serving, input, depth, signal),
    mode === 'vector' ? [] : searchLexical(s.db, lexicalText, depth, input.where, collection),
  ]);
  const fused =
    mode === 'hybrid'
      ? fuseRanks(vector, lexical, { rrfK: s.config.RRF_K, vectorWeight: s.config.HYBRID_VECTOR_WEIGHT })
      : singleSide(mode === 'vector' ? vector : lexical, mode);
  const kept = fused.filter((hit) => input.minScore === undefined || hit.score >= input.minScore);
  return hydrate(s, kept, input.k);
}

/** A lexical search needs no index or embedder, only a collection that exists (a degraded one serves it). */
async function mustExist(s: RetrieveServices, collection: string): Promise<null> {
  await s.indexes.synced(collection).catch((err: unknown) => {
    if (!(err instanceof CollectionDegradedError)) throw err;
  });
  return null;
}

/**
 * The vector side. A filter on declared fields only is answered from the worker's payload index,
 * with no SQL; any other is resolved in SQL to its chunk ids first, as before payload indexes.
 */
async function searchVectors(s: RetrieveServices, serving: ServingIndex, input: RetrieveQuery, depth: number, signal?: AbortSignal): Promise<SideHit[]> {
  const { where } = input;
  const { index, embedder } = serving;
  if (where === undefined) return index.search(await embedQuery(embedder, input, signal), depth);
  if (index.answersWhere(where)) {
    const vector = await embedQuery(embedder, input, signal);
    const planned = await index.searchWhere(vector, depth, where); // undefined: an index row dropped a field meanwhile
    if (planned !== undefined) return planned;
    return index.searchWithin(vector, depth, await chunkIdsMatching(s.db, where, index.collection));
  }
  const [vector, allowed] = await Promise.all([embedQuery(embedder, input, signal), chunkIdsMatching(s.db, where, index.collection)]);
  return index.searchWithin(vector, depth, allowed);
}

/**
 * The query vector. With a conversation, a weighted mean of the question's vector and the earlier
 * turns' (renormalised) rather than one vector of the concatenated text: a follow-up is usually the
 * shortest text of the conversation, and in a concatenation its weight would shrink with the length
 * of what came before; the mix keeps the question dominant whatever the lengths.
 */
async function embedQuery(embedder: Embedder, input: RetrieveQuery, signal?: AbortSignal): Promise<number[]> {
  const texts = input.context === undefined ? [input.query] : [input.query, input.context];
  const [question = [], context] = await embedder.embed(texts, signal);
  if (context === undefined) return question;
  const mixed = question.map((value, i) => value + CONTEXT_WEIGHT * (context[i] ?? 0));
  const norm = Math.hypot(...mixed);
  return norm > 0 ? mixed.map((value) => value / norm) : question;
}

/** The first `k` fused hits whose rows still exist, with their text, title and metadata. */
async function hydrate(s: RetrieveServices, fused: readonly FusedHit[], k: number): Promise<SearchHit[]> {
  const wanted = fused.slice(0, k);
  const rows = await findChunks(
    s.db,
    wanted.map((hit) => hit.chunkId),
  );
  const hits: SearchHit[] = [];
  for (const hit of wanted) {
    const row = rows.get(hit.chunkId);
    if (row) hits.push({ documentId: row.documentId, text: row.text, title: row.title, metadata: row.metadata, ...hit });
  }
  return hits;
}
