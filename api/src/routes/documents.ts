/**
 * Documents of a collection (the default one without a prefix, http/collection-scope.ts): POST stores the row (pending) and then enqueues its ingest, so a 202 means the text is
 * durable even if Redis loses the job; a batch stores all its documents or none (http/document-writes.ts); removals are jobs too. Ids in paths are validated, never paths.
 * POST also takes a file as multipart/form-data (http/upload.ts): its text goes the same way.
 * With ?wait=true a write answers once the change is searchable through every live worker (http/write-wait.ts): 200, or 202 with the state so far at timeoutMs.
 * PATCH replaces metadata only: no job, nothing embedded again.
 */
import { randomUUID } from 'node:crypto';
import { Router, type Response } from 'express';
import { findDocument, listDocumentHashes, listDocuments, updateDocumentMetadata, type DocumentStatus } from '../../../shared/src/db/documents-repo.js';
import { acceptJob } from '../../../shared/src/queue/accept-job.js';
import { recordRemovalTargets, type RemovalTarget } from '../../../shared/src/db/removals-repo.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import { Id } from '../../../shared/src/input.js';
import { parse } from '../../../shared/src/validation.js';
import { localsOf } from '../http/request-context.js';
import { COLLECTION_PREFIXES, collectionOf } from '../http/collection-scope.js';
import { acceptDocuments, refuseDuplicateIds, type AcceptedDocument } from '../http/document-writes.js';
import { acceptUpload, isMultipart, uploadedDocumentBody, uploadedFileHash } from '../http/upload.js';
import { waitUntilSearchable, type WaitTarget, type WriteProgress } from '../http/write-wait.js';
import type { ApiServices } from '../services.js';

export function documentsRouter(s: ApiServices): Router {
  const router = Router();
  for (const prefix of COLLECTION_PREFIXES) {
    mountDocumentWrites(router, s, prefix);
    mountDocumentReads(router, s, prefix);
    mountDocumentRemovals(router, s, prefix);
  }
  return router;
}

/** POST …/documents (JSON or a file), POST …/documents/batch and PATCH …/documents/:id. */
function mountDocumentWrites(router: Router, s: ApiServices, prefix: string): void {
  const { DocumentInput, DocumentBatch, MetadataPatch } = s.schemas;
  router.post(`${prefix}/documents`, acceptUpload(s.config), async (req, res) => {
    const collection = await collectionOf(s, req);
    const waitMs = waitOf(s, req.query);
    const body: unknown = isMultipart(req) ? await uploadedDocumentBody(req, s.config) : req.body; // a file: its text, same validation
    const input = parse(DocumentInput, body, 'document');
    const fileHash = isMultipart(req) ? uploadedFileHash(req) : undefined;
    const accepted = await acceptDocuments(s, req, res, collection, [{ ...input, fileHash }], 'single');
    const [written] = await answerDocuments(s, res, collection, accepted, waitMs);
    if (!written) throw new Error('a write of one document answered none');
    res.json({ document: { id: written.id, status: written.status, revision: written.revision }, job: written.job, ...progressFields(written) });
  });

  router.post(`${prefix}/documents/batch`, async (req, res) => {
    const collection = await collectionOf(s, req);
    const waitMs = waitOf(s, req.query);
    const input = parse(DocumentBatch, req.body, 'batch');
    refuseDuplicateIds(input.documents, 'documents');
    const accepted = await acceptDocuments(s, req, res, collection, input.documents, 'batch');
    res.json({ documents: await answerDocuments(s, res, collection, accepted, waitMs) });
  });

  router.patch(`${prefix}/documents/:id`, async (req, res) => {
    const collection = await collectionOf(s, req);
    const id = parse(Id, req.params['id'], 'document id');
    const input = parse(MetadataPatch, req.body, 'metadata update');
    const document = await updateDocumentMetadata(s.db, { collection, id }, input.metadata);
    if (!document) throw new NotFoundError(`document ${id} not found`);
    res.json(document);
  });
}

/** GET …/documents, …/document-hashes and …/documents/:id. */
function mountDocumentReads(router: Router, s: ApiServices, prefix: string): void {
  const { DocumentListQuery, DocumentHashesQuery } = s.schemas;
  router.get(`${prefix}/documents`, async (req, res) => {
    const collection = await collectionOf(s, req);
    const query = parse(DocumentListQuery, { ...req.query }, 'query');
    const page = await listDocuments(s.db, { ...query, collection });
    res.json(page);
  });

  router.get(`${prefix}/document-hashes`, async (req, res) => {
    const collection = await collectionOf(s, req);
    const query = parse(DocumentHashesQuery, { ...req.query }, 'query');
    res.json(await listDocumentHashes(s.db, { ...query, collection }));
  });

  router.get(`${prefix}/documents/:id`, async (req, res) => {
    const collection = await collectionOf(s, req);
    const id = parse(Id, req.params['id'], 'document id');
    const document = await findDocument(s.db, id, collection);
    if (!document) throw new NotFoundError(`document ${id} not found`);
    res.json(document);
  });
}

/** DELETE …/documents/:id and POST …/documents/delete (by filter): jobs, with ?wait=true. */
function mountDocumentRemovals(router: Router, s: ApiServices, prefix: string): void {
  const { RemoveRequest } = s.schemas;
  router.delete(`${prefix}/documents/:id`, async (req, res) => {
    const collection = await collectionOf(s, req);
    const waitMs = waitOf(s, req.query);
    const id = parse(Id, req.params['id'], 'document id');
    const { job } = await acceptRemoval(s, { collection, requestId: localsOf(res).requestId }, { documentId: id }, false);
    await answerRemoval(s, res, { queue: 'remove', jobId: job.id, collection }, waitMs);
  });

  router.post(`${prefix}/documents/delete`, async (req, res) => {
    const collection = await collectionOf(s, req);
    const waitMs = waitOf(s, req.query);
    const input = parse(RemoveRequest, req.body, 'removal');
    const { job } = await acceptRemoval(s, { collection, requestId: localsOf(res).requestId }, { where: input.where }, input.dryRun);
    await answerRemoval(s, res, { queue: 'remove', jobId: job.id, collection }, waitMs);
  });
}

/** How long the request waits for its change to be searchable; undefined without ?wait=true. */
function waitOf(s: ApiServices, query: unknown): number | undefined {
  const parsed = parse(s.schemas.WriteWaitQuery, { ...(query as object) }, 'query');
  return parsed.wait === 'true' ? (parsed.timeoutMs ?? s.config.WRITE_WAIT_MAX_MS) : undefined;
}

type AnsweredDocument = AcceptedDocument & Partial<WriteProgress>;

/** Sets the status (202, or 200 once every change ended) and returns each document with its progress when waited for. */
async function answerDocuments(
  s: ApiServices,
  res: Response,
  collection: string,
  accepted: { documents: AcceptedDocument[]; isReplay: boolean },
  waitMs: number | undefined,
): Promise<AnsweredDocument[]> {
  if (accepted.isReplay) res.setHeader('Idempotent-Replayed', 'true');
  if (waitMs === undefined) {
    res.status(202);
    return accepted.documents;
  }
  const targets = accepted.documents.map((d): WaitTarget => ({ queue: d.job.queue, jobId: d.job.id, documentId: d.id, collection }));
  const { progress, isDone } = await waitUntilSearchable(s, targets, waitMs);
  res.status(isDone ? 200 : 202);
  return accepted.documents.map((d, i) => {
    const p = progress[i] ?? { state: 'pending', seq: null };
    return { ...d, status: statusAfter(d.status, p), ...p };
  });
}

async function answerRemoval(s: ApiServices, res: Response, target: WaitTarget, waitMs: number | undefined): Promise<void> {
  const job = { queue: 'remove' as const, id: target.jobId };
  if (waitMs === undefined) {
    res.status(202).json({ job });
    return;
  }
  const { progress, isDone } = await waitUntilSearchable(s, [target], waitMs);
  res.status(isDone ? 200 : 202).json({ job, ...progressFields(progress[0]) });
}

function progressFields(p: Partial<WriteProgress> | undefined) {
  if (p?.state === undefined) return {};
  return { state: p.state, seq: p.seq ?? null, ...(p.jobError ? { jobError: p.jobError } : {}) };
}

function statusAfter(accepted: DocumentStatus, p: WriteProgress): DocumentStatus {
  if (p.state === 'searchable' || p.state === 'committed') return 'ready';
  return p.state === 'failed' ? 'failed' : accepted;
}

/** A removal job with its targets recorded as they are now (db/removals-repo.ts); by id, an unknown document is a 404. */
function acceptRemoval(s: ApiServices, ref: { collection: string; requestId: string }, target: RemovalTarget, dryRun: boolean) {
  const jobId = `remove:${randomUUID()}`;
  return acceptJob(s, s.queues.remove, async (trx) => {
    const targets = await recordRemovalTargets(trx, jobId, target, ref.collection);
    if ('documentId' in target && targets === 0) throw new NotFoundError(`document ${target.documentId} not found`);
    return { value: targets, jobId, data: { collection: ref.collection, dryRun, requestId: ref.requestId } };
  });
}
