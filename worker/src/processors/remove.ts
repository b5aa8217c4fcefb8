/**
 * Removes what a removal recorded when it was acknowledged (db/removals-repo.ts): sync, delete the
 * documents still at their recorded revision with their chunks, logging every delete in one
 * transaction, sync. A document posted again since its removal was acknowledged is kept. A
 * collection this worker holds no index of yet (its embedder never served) has nothing to sync: the
 * rows go all the same.
 */
import type { RemoveJob, RemoveResult } from '../../../shared/src/jobs/remove.js';
import type { Knex } from 'knex';
import { removeRecordedTargets, type RemovalCounts } from '../../../shared/src/db/removals-repo.js';
import type { Services } from '../services.js';
import { CollectionDegradedError } from '../embedders/generation-embedder.js';
import type { JobContext } from './job-context.js';

type RemoveServices = Pick<Services, 'db' | 'indexes' | 'commits'>;

export async function processRemove(s: RemoveServices, job: RemoveJob, { job: queued, logger, saveOutcome }: JobContext<RemoveResult>): Promise<RemoveResult> {
  const index = await s.indexes.synced(job.collection).catch((err: unknown) => {
    if (err instanceof CollectionDegradedError) return null;
    throw err;
  }); // see every earlier commit first
  const saveCounts = (trx: Knex, counts: RemovalCounts) => saveOutcome(trx, { ...counts, dryRun: job.dryRun });
  const removed = await removeRecordedTargets(s.db, queued.id, job.dryRun, saveCounts, job.collection);
  if (!job.dryRun) {
    await index?.sync(); // apply our own deletes
    const seq = removed.seq ?? index?.seq;
    if (seq !== undefined) await s.commits.announce(job.collection, seq); // and every other worker now (?wait=true)
  }
  logger.info(job.dryRun ? 'removal counted' : 'documents removed', { collection: job.collection, ...removed });
  return { ...removed, dryRun: job.dryRun };
}
