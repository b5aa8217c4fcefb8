/** The ingest queue: chunk, embed and commit one revision of one document. */
import { z } from 'zod';
import { CollectionId, DEFAULT_COLLECTION, Id } from '../input.js';
import type { Knex } from 'knex';
import { findDocument, markDocumentFailed, markDocumentPending } from '../db/documents-repo.js';
import { ConflictError, NotFoundError, UnrecoverableJobError } from '../errors.js';
import { acknowledgedJobPolicy, defineQueue, succeeded } from './queue-definition.js';

export const IngestJob = z.strictObject({
  collection: CollectionId.default(DEFAULT_COLLECTION), // payloads recorded before collections existed are the default one's
  documentId: Id,
  revision: z.number().int().positive(),
  requestId: z.string().max(128),
});
export type IngestJob = z.infer<typeof IngestJob>;

export interface IngestResult {
  documentId: string;
  revision: number;
  status: 'ready' | 'superseded' | 'unchanged';
  chunks: number;
  removedChunks: number;
  seq?: number; // ready or unchanged: the vector_log seq from which the revision is searchable (the commit's)
}

/** The policy of both ingest queues (ingest, ingest-batch): they share timeout, concurrency and the worker's group commits. */
export const INGEST_POLICY = acknowledgedJobPolicy(
  (c) => c.INGEST_TIMEOUT_MS,
  (c) => c.INGEST_CONCURRENCY,
  { isRetryIsolated: true }, // one ingest that kills its worker must not use up the attempts of those beside it
);

export const ingestQueue = defineQueue<'ingest', IngestJob, IngestResult>({
  name: 'ingest',
  payload: IngestJob,
  policy: INGEST_POLICY,
  retry: { isAllowed: true, prepare: (s, failed) => resetFailedIngest(s.db, failed.data) },
  outcomeStatus: succeeded,
  // The document ends failed with the reason, so no client waits for it forever.
  onGaveUp: async (s, job, err) => {
    const reason = err instanceof UnrecoverableJobError ? err.message : `ingest failed: ${err.message}`;
    await markDocumentFailed(s.db, job.documentId, job.revision, reason, job.collection);
  },
});

/**
 * One job per revision: a duplicate enqueue of the same revision is a no-op in Bee-Queue. Another
 * collection's jobs are `ingest@<collection>:…`: `@` is in no document id, so no two ids meet.
 */
export function ingestJobId(documentId: string, revision: number, collection: string = DEFAULT_COLLECTION): string {
  return collection === DEFAULT_COLLECTION ? `ingest:${documentId}:${revision}` : `ingest@${collection}:${documentId}:${revision}`;
}

/** The ingest job of one revision: its id (named by the revision) and payload. */
export function ingestJobOf(collection: string, ref: { documentId: string; revision: number }, requestId: string): { jobId: string; data: IngestJob } {
  return { jobId: ingestJobId(ref.documentId, ref.revision, collection), data: { collection, documentId: ref.documentId, revision: ref.revision, requestId } };
}

/** The failed ingest's document back to pending (should the enqueue fail, the sweep picks it up). */
async function resetFailedIngest(db: Knex, ref: IngestJob): Promise<void> {
  const doc = await findDocument(db, ref.documentId, ref.collection);
  if (!doc) throw new NotFoundError(`document ${ref.documentId} not found: it was removed`);
  if (doc.revision !== ref.revision) {
    throw new ConflictError(
      `document ${doc.id} changed since (revision ${doc.revision}); its latest revision is job ${ingestJobId(doc.id, doc.revision, ref.collection)}`,
    );
  }
  if (doc.status !== 'failed') throw new ConflictError(`document ${doc.id} is ${doc.status}, not failed`);
  await markDocumentPending(db, doc.id, doc.revision, ref.collection);
}
