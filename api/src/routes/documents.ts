/**
 * Documents: POST stores the row (pending) and then enqueues its ingest, so a 202 means the text is
 * durable even if Redis loses the job; removals are jobs too. Ids in paths are validated, never paths.
 * POST also takes a file as multipart/form-data (http/upload.ts): its text goes the same way.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { findDocument, listDocuments, upsertPendingDocument } from '../../../shared/src/db/documents-repo.js';
import { enqueue } from '../../../shared/src/queue/enqueue.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import { Id } from '../../../shared/src/input.js';
import { ingestJobId } from '../../../shared/src/jobs/ingest.js';
import { parse } from '../../../shared/src/validation.js';
import { localsOf } from '../http/request-context.js';
import { acceptUpload, isMultipart, uploadedDocumentBody } from '../http/upload.js';
import type { ApiServices } from '../services.js';

export function documentsRouter(s: ApiServices): Router {
  const router = Router();
  const { DocumentInput, RemoveRequest, DocumentListQuery } = s.schemas;

  router.post('/documents', acceptUpload(s.config), async (req, res) => {
    const body: unknown = isMultipart(req) ? await uploadedDocumentBody(req, s.config) : req.body; // a file: its text, same validation
    const input = parse(DocumentInput, body, 'document');
    const { requestId } = localsOf(res);
    const saved = await upsertPendingDocument(s.db, { ...input, requestId });
    const job = await enqueue(s.queues.ingest, s.config, ingestJobId(saved.id, saved.revision), { documentId: saved.id, revision: saved.revision, requestId });
    res.status(202).json({ document: { id: saved.id, status: saved.status, revision: saved.revision }, job });
  });

  router.get('/documents', async (req, res) => {
    const query = parse(DocumentListQuery, { ...req.query }, 'query');
    const page = await listDocuments(s.db, query);
    res.json(page);
  });

  router.get('/documents/:id', async (req, res) => {
    const id = parse(Id, req.params['id'], 'document id');
    const document = await findDocument(s.db, id);
    if (!document) throw new NotFoundError(`document ${id} not found`);
    res.json(document);
  });

  router.delete('/documents/:id', async (req, res) => {
    const id = parse(Id, req.params['id'], 'document id');
    if (!(await findDocument(s.db, id))) throw new NotFoundError(`document ${id} not found`);
    const { requestId } = localsOf(res);
    const job = await enqueue(s.queues.remove, s.config, `remove:${randomUUID()}`, { documentId: id, dryRun: false, requestId });
    res.status(202).json({ job });
  });

  router.post('/documents/delete', async (req, res) => {
    const input = parse(RemoveRequest, req.body, 'removal');
    const { requestId } = localsOf(res);
    const job = await enqueue(s.queues.remove, s.config, `remove:${randomUUID()}`, { where: input.where, dryRun: input.dryRun, requestId });
    res.status(202).json({ job });
  });
  return router;
}
