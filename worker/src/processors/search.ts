/** Answers one search: drop it if its deadline passed, then retrieve (sync, embed, search, hydrate). */
import type { SearchJob, SearchResult } from '../../../shared/src/jobs/search.js';
import { SearchTimeoutError } from '../../../shared/src/errors.js';
import { retrieve, type RetrieveServices } from '../retrieve.js';
import type { Services } from '../services.js';
import type { JobContext } from './job-context.js';

export async function processSearch(s: RetrieveServices & Pick<Services, 'indexes'>, job: SearchJob, _context: JobContext): Promise<SearchResult> {
  if (Date.now() > job.deadline) throw new SearchTimeoutError('search expired before a worker took it');
  const results = await retrieve(s, job);
  return { results, seq: s.indexes.get(job.collection)?.seq ?? 0 };
}
