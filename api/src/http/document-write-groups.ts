/**
 * Single document writes (POST /documents without an Idempotency-Key) that arrive together share
 * one transaction and one job: group commit (shared/src/coalescer.ts). Under load, the POSTs that
 * gathered while the previous group was written become one multi-row upsert and one ingest-batch
 * job, which costs the web and every worker a fraction of a transaction and an ingest job per
 * document (README, Benchmarks). A lone POST is written as before: its own transaction and ingest
 * job. Two revisions of one document in a group are written in separate rounds (each its own
 * transaction and job), so they never race in one batch. A group whose write fails is written
 * again one document at a time, so it fails only the request it must; a failed enqueue fails the
 * requests of that job (503) and the sweep still runs it, as for any acknowledged job.
 */
import type { Knex } from 'knex';
import type { Config } from '../../../shared/src/config.js';
import { Coalescer, distinctRounds, settle, type Settled } from '../../../shared/src/coalescer.js';
import { upsertPendingDocuments, type NewDocument, type SavedDocument } from '../../../shared/src/db/documents-repo.js';
import { ingestJobOf, type IngestJob } from '../../../shared/src/jobs/ingest.js';
import { ingestBatchJobOf, type IngestBatchJob } from '../../../shared/src/jobs/ingest-batch.js';
import type { Logger } from '../../../shared/src/logger.js';
import { enqueueAccepted, recordAcceptedJobs } from '../../../shared/src/queue/accept-job.js';
import type { Queues } from '../../../shared/src/queue/queues.js';

export type SingleWrite = Omit<NewDocument, 'collection'>;

export interface WrittenDocument {
  document: SavedDocument;
  job: { queue: 'ingest' | 'ingest-batch'; id: string };
}

export interface DocumentWriteGroups {
  /** The document stored (pending, a new revision) with its job recorded and enqueued, together with the writes that arrived with it. */
  write(collection: string, input: SingleWrite): Promise<WrittenDocument>;
}

interface GroupParts {
  db: Knex;
  queues: Pick<Queues, 'ingest' | 'ingest-batch'>;
  config: Config;
  logger: Logger;
}

type Written =
  | { queue: 'ingest'; documents: SavedDocument[]; job: { jobId: string; data: IngestJob } }
  | { queue: 'ingest-batch'; documents: SavedDocument[]; job: { jobId: string; data: IngestBatchJob }; requestIds: string[] };

export function createDocumentWriteGroups(p: GroupParts): DocumentWriteGroups {
  // At most one explicit batch's worth of documents per group: the job is no larger than POST /documents/batch makes.
  const groups = new Coalescer<SingleWrite, WrittenDocument>((collection, inputs) => writeGroup(p, collection, inputs), p.config.MAX_BATCH_DOCUMENTS);
  return { write: (collection, input) => groups.submit(collection, input) };
}

async function writeGroup(p: GroupParts, collection: string, inputs: SingleWrite[]): Promise<Array<Settled<WrittenDocument>>> {
  const results: Array<Settled<WrittenDocument>> = inputs.map(() => ({ ok: false, error: new Error('write gave no result') }));
  for (const round of distinctRounds(inputs.map((input, i) => input.id ?? `new:${i}`))) {
    const members = round.map((i) => inputs[i] as SingleWrite);
    for (const { at, written } of await writeRound(p, collection, members)) {
      const positions = at.map((j) => round[j] as number);
      if (!written.ok) {
        for (const i of positions) results[i] = written;
        continue;
      }
      const enqueued = await settle(enqueueWritten(p, written.value));
      const job = { queue: written.value.queue, id: written.value.job.jobId };
      positions.forEach((i, j) => {
        const document = written.value.documents[j];
        if (!enqueued.ok) results[i] = enqueued;
        else if (document) results[i] = { ok: true, value: { document, job } };
      });
    }
  }
  return results;
}

/** The round written in one transaction; when that fails and it holds several, each alone. `at`: members' positions in the round. */
async function writeRound(p: GroupParts, collection: string, members: SingleWrite[]): Promise<Array<{ at: number[]; written: Settled<Written> }>> {
  const together = await settle(writeTogether(p, collection, members));
  if (together.ok || members.length === 1) return [{ at: members.map((_, j) => j), written: together }];
  const alone: Array<{ at: number[]; written: Settled<Written> }> = [];
  for (const [j, member] of members.entries()) alone.push({ at: [j], written: await settle(writeTogether(p, collection, [member])) });
  return alone;
}

/** The documents upserted and their one job's pending record, in one transaction: an ingest job for one, an ingest-batch job for several. */
async function writeTogether(p: GroupParts, collection: string, members: SingleWrite[]): Promise<Written> {
  return p.db.transaction(async (trx) => {
    const documents = await upsertPendingDocuments(trx, collection, members);
    const [first] = documents;
    const requestId = members[0]?.requestId ?? '';
    if (documents.length === 1 && first) {
      const job = ingestJobOf(collection, { documentId: first.id, revision: first.revision }, requestId);
      await recordAcceptedJobs(trx, p.queues.ingest, [job]);
      return { queue: 'ingest' as const, documents, job };
    }
    const job = ingestBatchJobOf(
      collection,
      documents.map((d) => ({ documentId: d.id, revision: d.revision })),
      requestId,
    );
    await recordAcceptedJobs(trx, p.queues['ingest-batch'], [job]);
    return { queue: 'ingest-batch' as const, documents, job, requestIds: members.map((m) => m.requestId) };
  });
}

async function enqueueWritten(p: GroupParts, written: Written): Promise<void> {
  if (written.queue === 'ingest') {
    await enqueueAccepted(p.queues.ingest, p.config, [written.job]);
    return;
  }
  // The batch job carries the first request's id; this line ties every request of the group to it.
  const { collection } = written.job.data;
  p.logger.info('documents written together', { collection, job: written.job.jobId, documents: written.documents.length, requestIds: written.requestIds });
  await enqueueAccepted(p.queues['ingest-batch'], p.config, [written.job]);
}
