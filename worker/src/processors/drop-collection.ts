/**
 * Deletes one collection with everything in it (jobs/drop-collection.ts): its rows go in one log
 * transaction whose `drop` row tells every worker to let the collection's index go; this worker
 * lets its own go at once (and removes its checkpoints), the others on their next look or sync.
 */
import type { DropCollectionJob, DropCollectionResult } from '../../../shared/src/jobs/drop-collection.js';
import { findCollection, purgeCollection } from '../../../shared/src/db/collections-repo.js';
import type { Services } from '../services.js';
import type { JobContext } from './job-context.js';

type DropCollectionServices = Pick<Services, 'db' | 'indexes'>;

export async function processDropCollection(s: DropCollectionServices, job: DropCollectionJob, { logger }: JobContext): Promise<DropCollectionResult> {
  const current = await findCollection(s.db, job.collection);
  const purged = current?.uid === job.uid ? await purgeCollection(s.db, job.collection) : { documents: 0, chunks: 0, sessions: 0 }; // already gone (a duplicate run)
  await s.indexes.refresh();
  logger.info('collection deleted', { collection: job.collection, ...purged });
  return { collection: job.collection, ...purged };
}
