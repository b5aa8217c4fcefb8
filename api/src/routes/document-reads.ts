/**
 * Reading a collection's documents back: a document's chunks as stored (text, ordinal and the span
 * [start, end) of the document text each one covers), page by page or around one chunk, and how many
 * documents match a filter (the language of POST /search, on the documents' current metadata).
 */
import { Router } from 'express';
import { chunksAround, listDocumentChunks } from '../../../shared/src/db/chunks-repo.js';
import { countDocuments, findDocument } from '../../../shared/src/db/documents-repo.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import { Id } from '../../../shared/src/input.js';
import { parse } from '../../../shared/src/validation.js';
import { COLLECTION_PREFIXES, collectionOf } from '../http/collection-scope.js';
import type { ApiServices } from '../services.js';

export function documentReadsRouter(s: ApiServices): Router {
  const router = Router();
  const { ChunksQuery, CountRequest } = s.schemas;

  for (const prefix of COLLECTION_PREFIXES) {
    router.get(`${prefix}/documents/:id/chunks`, async (req, res) => {
      const collection = await collectionOf(s, req);
      const documentId = parse(Id, req.params['id'], 'document id');
      const query = parse(ChunksQuery, { ...req.query }, 'query');
      const doc = await findDocument(s.db, documentId, collection);
      if (!doc) throw new NotFoundError(`document ${documentId} not found`);
      const ref = { collection, documentId };
      if (query.around !== undefined) {
        const chunks = await chunksAround(s.db, ref, query.around, query.n);
        if (!chunks) throw new NotFoundError(`chunk ${query.around} is not a chunk of document ${documentId}`);
        res.json({ documentId, revision: doc.revision, chunks, nextAfter: null });
        return;
      }
      const page = await listDocumentChunks(s.db, ref, { afterOrdinal: query.after ?? -1, limit: query.limit + 1 });
      const chunks = page.slice(0, query.limit);
      res.json({ documentId, revision: doc.revision, chunks, nextAfter: page.length > query.limit ? (chunks.at(-1)?.ordinal ?? null) : null });
    });

    router.post(`${prefix}/documents/count`, async (req, res) => {
      const collection = await collectionOf(s, req);
      const input = parse(CountRequest, req.body ?? {}, 'count');
      res.json({ count: await countDocuments(s.db, { collection, where: input.where }) });
    });
  }
  return router;
}
