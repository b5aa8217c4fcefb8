/**
 * Answers one search: drop it if its deadline passed, then retrieve (sync, embed, search, hydrate).
 * With minSeq (read your writes) an index that, synced, has not applied that seq refuses to answer:
 * after a sync that only happens for a seq not committed in the collection.
 * A collection whose embedder is unavailable is a 503 naming the embedder (never its address).
 */
import type { SearchJob, SearchResult } from '../../../shared/src/jobs/search.js';
import { IndexBehindError, SearchTimeoutError, UpstreamUnavailableError } from '../../../shared/src/errors.js';
import { CollectionDegradedError } from '../embedders/generation-embedder.js';
import { retrieve, type RetrieveServices } from '../retrieve.js';
import type { Services } from '../services.js';
import type { JobContext } from './job-context.js';

export async function processSearch(s: RetrieveServices & Pick<Services, 'indexes'>, job: SearchJob, _context: JobContext): Promise<SearchResult> {
  if (Date.now() > job.deadline) throw new SearchTimeoutError('search expired before a worker took it');
  const results = await retrieve(s, job).catch((err: unknown) => {
    throw err instanceof CollectionDegradedError ? new UpstreamUnavailableError(err.message, undefined, { cause: err }) : err;
  });
  const seq = s.indexes.get(job.collection)?.seq ?? 0;
  if (job.minSeq !== undefined && seq < job.minSeq) {
    throw new IndexBehindError(
      `the index of collection ${job.collection} has applied seq ${seq}, not yet minSeq ${job.minSeq}: is that seq a write of this collection?`,
    );
  }
  return { results, seq };
}
