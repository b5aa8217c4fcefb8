/**
 * Answers one search: drop it if its deadline passed, then retrieve (sync, embed, search, hydrate).
 * With minSeq (read your writes) an index that, synced, has not applied that seq refuses to answer:
 * after a sync that only happens for a seq not committed in the collection.
 */
import type { SearchJob, SearchResult } from '../../../shared/src/jobs/search.js';
import { IndexBehindError, SearchTimeoutError } from '../../../shared/src/errors.js';
import { retrieve, type RetrieveServices } from '../retrieve.js';
import type { Services } from '../services.js';
import type { JobContext } from './job-context.js';

export async function processSearch(s: RetrieveServices & Pick<Services, 'indexes'>, job: SearchJob, _context: JobContext): Promise<SearchResult> {
  if (Date.now() > job.deadline) throw new SearchTimeoutError('search expired before a worker took it');
  const results = await retrieve(s, job);
  const seq = s.indexes.get(job.collection)?.seq ?? 0;
  if (job.minSeq !== undefined && seq < job.minSeq) {
    throw new IndexBehindError(
      `the index of collection ${job.collection} has applied seq ${seq}, not yet minSeq ${job.minSeq}: is that seq a write of this collection?`,
    );
  }
  return { results, seq };
}
