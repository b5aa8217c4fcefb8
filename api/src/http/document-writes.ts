/**
 * Accepting document writes, one (POST /documents: an ingest job) or a batch (POST
 * /documents/batch: one ingest-batch job for all, 10 times faster until searchable than a
 * job per document for 100 documents): every document row (pending, a new revision) and the job's pending record
 * commit in one transaction, so a batch is stored whole or not at all, and the sweep covers the
 * job. Then the job is enqueued. Single writes without an Idempotency-Key that arrive together are
 * written as one batch (document-write-groups.ts). With an Idempotency-Key the transaction also claims the key and stores the
 * answer: a retry gets the same documents and revisions back, and only jobs that have not ended are
 * enqueued again (a no-op while Redis still holds them).
 */
import type Queue from 'bee-queue';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { upsertPendingDocuments, type DocumentStatus } from '../../../shared/src/db/documents-repo.js';
import { findJobRecords, outcomeOf } from '../../../shared/src/db/jobs-repo.js';
import { ValidationError } from '../../../shared/src/errors.js';
import { IngestJob, ingestJobOf } from '../../../shared/src/jobs/ingest.js';
import { IngestBatchJob, ingestBatchJobOf } from '../../../shared/src/jobs/ingest-batch.js';
import { enqueueAccepted, recordAcceptedJobs } from '../../../shared/src/queue/accept-job.js';
import { idempotentRequestOf, runIdempotent } from './idempotency.js';
import { localsOf } from './request-context.js';
import type { RequestSchemas } from './request-schemas.js';
import type { ApiServices } from '../services.js';

export type DocumentInput = z.infer<RequestSchemas['DocumentInput']>;

export interface AcceptedDocument {
  id: string;
  revision: number;
  status: DocumentStatus;
  job: { queue: 'ingest' | 'ingest-batch'; id: string };
}

const StoredWrite = z.object({
  documents: z.array(
    z.object({
      id: z.string(),
      revision: z.number().int().positive(),
      status: z.enum(['pending', 'indexing', 'ready', 'failed']),
      job: z.object({ queue: z.enum(['ingest', 'ingest-batch']), id: z.string() }),
    }),
  ),
});

export async function acceptDocuments(
  s: ApiServices,
  req: Request,
  res: Response,
  collection: string,
  inputs: ReadonlyArray<DocumentInput & { fileHash?: string | undefined }>, // fileHash: an upload's file bytes' SHA-256
  kind: 'single' | 'batch',
): Promise<{ documents: AcceptedDocument[]; isReplay: boolean }> {
  const { requestId } = localsOf(res);
  const idempotent = idempotentRequestOf(req, res, { collection, inputs });
  const [lone] = inputs;
  if (kind === 'single' && idempotent === undefined && lone && inputs.length === 1) {
    const written = await s.documentWrites.write(collection, { ...lone, requestId });
    return { documents: [{ ...written.document, job: written.job }], isReplay: false };
  }
  const single: Array<{ jobId: string; data: IngestJob }> = [];
  const batch: Array<{ jobId: string; data: IngestBatchJob }> = [];
  const outcome = await runIdempotent(s.db, idempotent, s.config.IDEMPOTENCY_TTL_MS, (db) =>
    db.transaction(async (trx) => {
      const docs = await upsertPendingDocuments(
        trx,
        collection,
        inputs.map((input) => ({ ...input, requestId })),
      );
      if (kind === 'batch') {
        const job = ingestBatchJobOf(
          collection,
          docs.map((d) => ({ documentId: d.id, revision: d.revision })),
          requestId,
        );
        batch.push(job);
        await recordAcceptedJobs(trx, s.queues['ingest-batch'], batch);
        return { statusCode: 202, body: { documents: docs.map((d) => ({ ...d, job: { queue: 'ingest-batch', id: job.jobId } })) } };
      }
      for (const d of docs) single.push(ingestJobOf(collection, { documentId: d.id, revision: d.revision }, requestId));
      await recordAcceptedJobs(trx, s.queues.ingest, single);
      return { statusCode: 202, body: { documents: docs.map((d, i) => ({ ...d, job: { queue: 'ingest', id: single[i]?.jobId } })) } };
    }),
  );
  const documents = storedDocuments(outcome.body);
  if (outcome.isReplay) await enqueueUnfinished(s, documents);
  else if (kind === 'batch') await enqueueAccepted(s.queues['ingest-batch'], s.config, batch);
  else await enqueueAccepted(s.queues.ingest, s.config, single);
  return { documents, isReplay: outcome.isReplay };
}

/** The ids of a batch must differ: two revisions of one document in one request would race each other. */
export function refuseDuplicateIds(inputs: ReadonlyArray<{ id?: string | undefined }>, path: string): void {
  const seen = new Map<string, number>();
  const details = inputs.flatMap((input, i) => {
    if (input.id === undefined) return [];
    const first = seen.get(input.id);
    seen.set(input.id, first ?? i);
    const message = `id ${input.id} is also item ${first ?? i}'s: each document may appear once in a batch`;
    return first === undefined ? [] : [{ path: `${path}.${i}.id`, rule: 'duplicate_id', message }];
  });
  if (details.length > 0) throw new ValidationError(`invalid batch: ${details[0]?.path ?? path}: ${details[0]?.message ?? ''}`, details);
}

/** A stored (or replayed) answer's documents; anything else under this key is not a document write. */
function storedDocuments(body: unknown): AcceptedDocument[] {
  const stored = StoredWrite.safeParse(body);
  if (!stored.success) throw new ValidationError('the stored response of this Idempotency-Key is not a document write');
  return stored.data.documents;
}

/** On a replay: the jobs that have not ended, enqueued again with their recorded payloads (a no-op while Redis holds them). */
async function enqueueUnfinished(s: ApiServices, documents: readonly AcceptedDocument[]): Promise<void> {
  for (const [queue, schema] of [
    ['ingest', IngestJob],
    ['ingest-batch', IngestBatchJob],
  ] as const) {
    const ids = [...new Set(documents.filter((d) => d.job.queue === queue).map((d) => d.job.id))];
    if (ids.length === 0) continue;
    const records = await findJobRecords(s.db, queue, ids);
    const jobs = [...records.values()].flatMap((record) => {
      const data = schema.safeParse(record.data);
      return outcomeOf(record) || !data.success ? [] : [{ jobId: record.jobId, data: data.data }];
    });
    await enqueueAccepted(s.queues[queue] as Queue<unknown>, s.config, jobs);
  }
}
