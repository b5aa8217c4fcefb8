/**
 * Accepting document writes, one (POST /documents) or a batch (POST /documents/batch): every
 * document row (pending, a new revision) and every ingest job's pending record commit in one
 * transaction, so a batch is stored whole or not at all, and the sweep covers each job. Then the
 * jobs are enqueued. With an Idempotency-Key the transaction also claims the key and stores the
 * answer: a retry gets the same documents and revisions back, and only jobs that have not ended are
 * enqueued again (a no-op while Redis still holds them).
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { upsertPendingDocument, type DocumentStatus } from '../../../shared/src/db/documents-repo.js';
import { findJobRecords, outcomeOf } from '../../../shared/src/db/jobs-repo.js';
import { ValidationError } from '../../../shared/src/errors.js';
import { IngestJob, ingestJobId } from '../../../shared/src/jobs/ingest.js';
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
  job: { queue: 'ingest'; id: string };
}

const StoredWrite = z.object({
  documents: z.array(
    z.object({
      id: z.string(),
      revision: z.number().int().positive(),
      status: z.enum(['pending', 'indexing', 'ready', 'failed']),
      job: z.object({ queue: z.literal('ingest'), id: z.string() }),
    }),
  ),
});

export async function acceptDocuments(
  s: ApiServices,
  req: Request,
  res: Response,
  collection: string,
  inputs: readonly DocumentInput[],
): Promise<{ documents: AcceptedDocument[]; isReplay: boolean }> {
  const { requestId } = localsOf(res);
  const jobs: Array<{ jobId: string; data: IngestJob }> = [];
  const outcome = await runIdempotent(s.db, idempotentRequestOf(req, res, { collection, inputs }), s.config.IDEMPOTENCY_TTL_MS, (db) =>
    db.transaction(async (trx) => {
      const documents: AcceptedDocument[] = [];
      for (const input of inputs) {
        const doc = await upsertPendingDocument(trx, { ...input, collection, requestId });
        const jobId = ingestJobId(doc.id, doc.revision, collection);
        jobs.push({ jobId, data: { collection, documentId: doc.id, revision: doc.revision, requestId } });
        documents.push({ id: doc.id, revision: doc.revision, status: doc.status, job: { queue: 'ingest', id: jobId } });
      }
      await recordAcceptedJobs(trx, s.queues.ingest, jobs);
      return { statusCode: 202, body: { documents } };
    }),
  );
  const documents = storedDocuments(outcome.body);
  await enqueueAccepted(s.queues.ingest, s.config, outcome.isReplay ? await unfinishedJobs(s, documents) : jobs);
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

/** On a replay: the jobs that have not ended, with their recorded payloads. */
async function unfinishedJobs(s: ApiServices, documents: readonly AcceptedDocument[]): Promise<Array<{ jobId: string; data: IngestJob }>> {
  const records = await findJobRecords(
    s.db,
    'ingest',
    documents.map((d) => d.job.id),
  );
  return [...records.values()].flatMap((record) => {
    const data = IngestJob.safeParse(record.data);
    return outcomeOf(record) || !data.success ? [] : [{ jobId: record.jobId, data: data.data }];
  });
}
