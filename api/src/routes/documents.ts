/**
 * Documents of a collection (the default one without a prefix, http/collection-scope.ts): POST stores the row (pending) and then enqueues its ingest, so a 202 means the text is
 * durable even if Redis loses the job; removals are jobs too. Ids in paths are validated, never paths.
 * POST also takes a file as multipart/form-data (http/upload.ts): its text goes the same way.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { findDocument, listDocumentHashes, listDocuments, upsertPendingDocument } from '../../../shared/src/db/documents-repo.js';
import { acceptJob } from '../../../shared/src/queue/accept-job.js';
import { recordRemovalTargets, type RemovalTarget } from '../../../shared/src/db/removals-repo.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import { Id } from '../../../shared/src/input.js';
import { ingestJobId } from '../../../shared/src/jobs/ingest.js';
import { parse } from '../../../shared/src/validation.js';
import { localsOf } from '../http/request-context.js';
import { COLLECTION_PREFIXES, collectionOf } from '../http/collection-scope.js';
import { acceptUpload, isMultipart, uploadedDocumentBody, uploadedFileHash } from '../http/upload.js';
import type { ApiServices } from '../services.js';

export function documentsRouter(s: ApiServices): Router {
  const router = Router();
  const { DocumentInput, RemoveRequest, DocumentListQuery, DocumentHashesQuery } = s.schemas;

  for (const prefix of COLLECTION_PREFIXES) {
    router.post(`${prefix}/documents`, acceptUpload(s.config), async (req, res) => {
      const collection = await collectionOf(s, req);
      const body: unknown = isMultipart(req) ? await uploadedDocumentBody(req, s.config) : req.body; // a file: its text, same validation
      const input = parse(DocumentInput, body, 'document');
      const fileHash = isMultipart(req) ? uploadedFileHash(req) : undefined;
      const { requestId } = localsOf(res);
      const { value: saved, job } = await acceptJob(s, s.queues.ingest, async (trx) => {
        const doc = await upsertPendingDocument(trx, { ...input, collection, requestId, fileHash });
        const data = { collection, documentId: doc.id, revision: doc.revision, requestId };
        return { value: doc, jobId: ingestJobId(doc.id, doc.revision, collection), data };
      });
      res.status(202).json({ document: { id: saved.id, status: saved.status, revision: saved.revision }, job });
    });

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

    router.delete(`${prefix}/documents/:id`, async (req, res) => {
      const collection = await collectionOf(s, req);
      const id = parse(Id, req.params['id'], 'document id');
      const { job } = await acceptRemoval(s, { collection, requestId: localsOf(res).requestId }, { documentId: id }, false);
      res.status(202).json({ job });
    });

    router.post(`${prefix}/documents/delete`, async (req, res) => {
      const collection = await collectionOf(s, req);
      const input = parse(RemoveRequest, req.body, 'removal');
      const { job } = await acceptRemoval(s, { collection, requestId: localsOf(res).requestId }, { where: input.where }, input.dryRun);
      res.status(202).json({ job });
    });
  }
  return router;
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
