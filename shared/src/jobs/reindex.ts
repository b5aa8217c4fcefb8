/**
 * The reindex queue: build a new generation of one collection with another embedder, then swap it
 * in (DESIGN.md §13; db/generations-repo.ts). The API starts the generation and records this job in
 * one transaction, so the sweep enqueues it again if Redis loses it. The build is resumable by
 * design: staged vectors survive a killed worker, and a re-run embeds only the chunks still without
 * one. The swap stores the outcome in its own transaction. A reindex that gives up leaves the
 * collection on its current generation and drops what it staged.
 */
import { z } from 'zod';
import { abandonGeneration } from '../db/generations-repo.js';
import { CollectionId } from '../input.js';
import { acknowledgedJobPolicy, defineQueue, succeeded } from './queue-definition.js';

export const ReindexJob = z.strictObject({
  collection: CollectionId,
  uid: z.string().max(36), // the collection's incarnation: a later collection of the same id is never touched
  generation: z.number().int().positive(), // the generation to build
  requestId: z.string().max(128),
});
export type ReindexJob = z.infer<typeof ReindexJob>;

export interface ReindexResult {
  collection: string;
  generation: number;
  embedder: string; // the new generation's fingerprint (model digest, dimension)
  chunks: number; // chunks whose vectors were replaced
  status: 'swapped' | 'superseded'; // superseded: the collection was deleted or the build abandoned first
}

/** One job per generation of one incarnation of a collection. */
export function reindexJobId(collection: string, uid: string, generation: number): string {
  return `reindex:${collection}:${uid}:${generation}`;
}

export const reindexQueue = defineQueue<'reindex', ReindexJob, ReindexResult>({
  name: 'reindex',
  payload: ReindexJob,
  policy: acknowledgedJobPolicy(
    (c) => c.REINDEX_TIMEOUT_MS,
    (c) => c.REINDEX_CONCURRENCY,
  ),
  retry: { isAllowed: false, reason: 'a reindex that gave up dropped its generation; start another with POST /collections/:collection/reindex' },
  outcomeStatus: succeeded,
  onGaveUp: async (s, job) => {
    await abandonGeneration(s.db, job.collection, job.generation);
  },
});
