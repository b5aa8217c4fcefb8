/** Removes documents by id or by metadata filter: sync, delete rows and log the deletes in one transaction, sync. */
import type { RemoveJob, RemoveResult } from '../../../shared/src/jobs/remove.js';
import { removeDocumentsWithLog } from '../../../shared/src/db/chunks-repo.js';
import type { Services } from '../services.js';
import type { JobContext } from './job-context.js';

type RemoveServices = Pick<Services, 'db' | 'index'>;

export async function processRemove(s: RemoveServices, job: RemoveJob, { logger }: JobContext): Promise<RemoveResult> {
  const target = 'documentId' in job ? { documentId: job.documentId } : { where: job.where };
  await s.index.sync(); // see every earlier commit first
  const removed = await removeDocumentsWithLog(s.db, target, job.dryRun);
  if (!job.dryRun) await s.index.sync(); // apply our own deletes
  logger.info(job.dryRun ? 'removal counted' : 'documents removed', { ...removed });
  return { ...removed, dryRun: job.dryRun };
}
