/**
 * Retrieval, the one code path behind POST /search and the answer job: sync the index, embed the
 * query and resolve the `where` filter to allowed chunk ids at once, search, hydrate rows. Chunks
 * deleted after the index saw them are dropped, so only committed rows are ever returned.
 */
import type { SearchHit } from '../../shared/src/jobs/search.js';
import { chunkIdsMatching, findChunks } from '../../shared/src/db/chunks-repo.js';
import type { WhereAst } from '../../shared/src/db/where.js';
import type { Services } from './services.js';

export type RetrieveServices = Pick<Services, 'config' | 'db' | 'index' | 'embedder'>;

export interface RetrieveQuery {
  query: string;
  k: number;
  where?: WhereAst | undefined; // parsed and bounded by the API
}

export async function retrieve(s: RetrieveServices, input: RetrieveQuery, signal?: AbortSignal): Promise<SearchHit[]> {
  const { where } = input;
  const [, vectors, allowed] = await Promise.all([
    s.index.sync(),
    s.embedder.embed([input.query], signal),
    where === undefined ? undefined : chunkIdsMatching(s.db, where),
  ]);
  const vector = vectors[0] ?? [];
  const hits = allowed === undefined ? s.index.search(vector, input.k) : await s.index.searchWithin(vector, input.k, allowed);
  const rows = await findChunks(
    s.db,
    hits.map((hit) => hit.chunkId),
  );
  return hits.flatMap((hit) => {
    const row = rows.get(hit.chunkId);
    return row ? [{ documentId: row.documentId, chunkId: hit.chunkId, text: row.text, score: hit.score, title: row.title, metadata: row.metadata }] : [];
  });
}
