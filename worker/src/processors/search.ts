/** Answers one search: drop it if its deadline passed, sync and embed at once, search, hydrate rows. */
import type { SearchJob, SearchResult } from '../../../shared/src/jobs/search.js';
import { findChunks, chunkIdsMatching } from '../../../shared/src/db/chunks-repo.js';
import { parseWhere } from '../../../shared/src/filters.js';
import { SearchTimeoutError } from '../../../shared/src/errors.js';
import type { Services } from '../services.js';
import type { JobContext } from './register.js';

type SearchServices = Pick<Services, 'config' | 'db' | 'index' | 'embedder'>;

export async function processSearch(s: SearchServices, job: SearchJob, _context: JobContext): Promise<SearchResult> {
  if (Date.now() > job.deadline) throw new SearchTimeoutError('search expired before a worker took it');
  const where = job.where === undefined ? undefined : parseWhere(s.config, job.where);
  const [, vectors, allowed] = await Promise.all([
    s.index.sync(),
    s.embedder.embed([job.query]),
    where === undefined ? undefined : chunkIdsMatching(s.db, where),
  ]);
  const hits = s.index.search(vectors[0] ?? [], job.k, allowed);
  const rows = await findChunks(s.db, hits.map((hit) => hit.chunkId));
  const results = hits.flatMap((hit) => {
    const row = rows.get(hit.chunkId);
    return row ? [{ documentId: row.documentId, chunkId: hit.chunkId, text: row.text, score: hit.score, title: row.title, metadata: row.metadata }] : [];
  });
  return { results, seq: s.index.seq };
}
