/** Removes documents by id or by metadata filter: sync, delete rows and log the deletes in one transaction, sync. */
import type { RemoveJob, RemoveResult } from '../../../shared/src/jobs/remove.js';
import { removeDocumentsWithLog } from '../../../shared/src/db/chunks-repo.js';
import { parseWhere } from '../../../shared/src/filters.js';
import { ValidationError } from '../../../shared/src/errors.js';
import type { Services } from '../services.js';
import type { JobContext } from './register.js';

type RemoveServices = Pick<Services, 'config' | 'db' | 'index'>;

export async function processRemove(s: RemoveServices, job: RemoveJob, { logger }: JobContext): Promise<RemoveResult> {
  const target = job.documentId !== undefined ? { documentId: job.documentId } : job.where !== undefined ? { where: parseWhere(s.config, job.where) } : undefined;
  if (!target) throw new ValidationError('a remove job needs documentId or where');
  await s.index.sync(); // see every earlier commit first
  const removed = await removeDocumentsWithLog(s.db, target, job.dryRun);
  if (!job.dryRun) await s.index.sync(); // apply our own deletes
  logger.info(job.dryRun ? 'removal counted' : 'documents removed', { ...removed });
  return { ...removed, dryRun: job.dryRun };
}
