/**
 * The drop-collection queue: delete a collection with everything in it (DESIGN.md §13). The API
 * marks the collection deleting and records this job in one transaction, so from the 202 on the
 * collection is not found, and the job runs even if Redis loses it. The worker purges its rows in
 * one log transaction (db/collections-repo.ts); the `drop` row that ends it takes the collection's
 * index and checkpoints away from every worker. Running it twice purges nothing more.
 */
import { z } from 'zod';
import { CollectionId } from '../input.js';
import { acknowledgedJobPolicy, defineQueue, succeeded } from './queue-definition.js';

export const DropCollectionJob = z.strictObject({
  collection: CollectionId,
  uid: z.string().max(36), // the incarnation marked deleting: a later collection of the same id is never touched
  requestId: z.string().max(128),
});
export type DropCollectionJob = z.infer<typeof DropCollectionJob>;

export interface DropCollectionResult {
  collection: string;
  documents: number;
  chunks: number;
  sessions: number;
}

/** One job per incarnation of a collection. */
export function dropCollectionJobId(collection: string, uid: string): string {
  return `drop-collection:${collection}:${uid}`;
}

export const dropCollectionQueue = defineQueue<'drop-collection', DropCollectionJob, DropCollectionResult>({
  name: 'drop-collection',
  payload: DropCollectionJob,
  policy: acknowledgedJobPolicy(
    (c) => c.REMOVE_TIMEOUT_MS,
    (c) => c.REMOVE_CONCURRENCY,
  ),
  retry: { isAllowed: true, prepare: async () => undefined }, // the collection stays marked deleting until a run succeeds
  outcomeStatus: succeeded,
});
