/** The remove queue: delete the documents a removal recorded, logging every chunk delete. */
import { z } from 'zod';
import { CollectionId, DEFAULT_COLLECTION } from '../input.js';
import { acknowledgedJobPolicy, defineQueue, succeeded } from './queue-definition.js';

/** What to remove was recorded with the job (db/removals-repo.ts): the documents at their revision when it was acknowledged. */
export const RemoveJob = z.strictObject({ collection: CollectionId.default(DEFAULT_COLLECTION), dryRun: z.boolean(), requestId: z.string().max(128) });
export type RemoveJob = z.infer<typeof RemoveJob>;

export interface RemoveResult {
  documents: number;
  chunks: number;
  dryRun: boolean;
  seq?: number; // not a dry run: the vector_log seq from which the removal is searchable (the commit's)
}

export const removeQueue = defineQueue<'remove', RemoveJob, RemoveResult>({
  name: 'remove',
  payload: RemoveJob,
  policy: acknowledgedJobPolicy(
    (c) => c.REMOVE_TIMEOUT_MS,
    (c) => c.REMOVE_CONCURRENCY,
  ),
  retry: { isAllowed: true, prepare: async () => undefined }, // its targets are still recorded
  outcomeStatus: succeeded,
});
