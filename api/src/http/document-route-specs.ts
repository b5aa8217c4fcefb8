/** The route registry's entries for documents and for search. */
import type { RequestSchemas } from './request-schemas.js';
import { exampleDocument, exampleRemoveJob, HASH } from './route-examples.js';
import * as R from './response-schemas.js';
import { errors, ok, type RegistryConfig, type RouteSpec } from './route-spec.js';
import { UploadFields } from './upload.js';
import { DocumentParams, documentDataRoutes, idempotencyHeader, waitDescription } from './document-data-route-specs.js';

export function documentRoutes(config: RegistryConfig, schemas: RequestSchemas): RouteSpec[] {
  return [addDocumentRoute(config, schemas), ...documentDataRoutes(config, schemas), ...documentReadRoutes(config, schemas), ...removalRoutes(config, schemas)];
}

function documentReadRoutes(config: RegistryConfig, schemas: RequestSchemas): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/documents',
      operationId: 'listDocuments',
      access: 'read',
      tag: 'documents',
      summary: 'List documents in id order',
      query: schemas.DocumentListQuery,
      description: "`where` is a metadata filter as JSON (see POST /search); `cursor` is the previous page's nextCursor.",
      responses: { 200: ok('one page', R.DocumentPage, { documents: [exampleDocument], nextCursor: null }), ...errors(400, 401) },
    },
    {
      method: 'get',
      path: '/document-hashes',
      access: 'read',
      operationId: 'listDocumentHashes',
      tag: 'documents',
      summary: "Every document's id, revision, status and hashes, in id order (for folder sync)",
      query: schemas.DocumentHashesQuery,
      description: `A compact listing for clients that mirror a folder (scripts/ingest.sh --sync): compare a file's SHA-256 with fileHash (or, for text sent as JSON, contentHash) and upload only what changed. \`prefix\`: only ids that start with it; pages of at most ${config.MAX_HASH_PAGE_SIZE} (MAX_HASH_PAGE_SIZE).`,
      responses: {
        200: ok('one page', R.DocumentHashPage, {
          documents: [{ id: 'guide:bees.md', revision: 2, status: 'ready', contentHash: HASH, fileHash: HASH }],
          nextCursor: null,
        }),
        ...errors(400, 401),
      },
    },
    {
      method: 'get',
      path: '/documents/:id',
      operationId: 'getDocument',
      access: 'read',
      tag: 'documents',
      summary: 'One document and its status',
      params: DocumentParams,
      responses: { 200: ok('the document (not its text)', R.DocumentView, exampleDocument), ...errors(400, 401, 404) },
    },
  ];
}

function removalRoutes(config: RegistryConfig, schemas: RequestSchemas): RouteSpec[] {
  const removal = { access: 'write', tag: 'documents', description: waitDescription(config, 'the removal'), query: schemas.WriteWaitQuery } as const;
  const removed = ok('wait=true: the removal is searchable through every live worker (or its job failed)', R.RemovalAccepted, {
    ...exampleRemoveJob,
    state: 'searchable',
    seq: 13,
  });
  return [
    {
      ...removal,
      method: 'delete',
      path: '/documents/:id',
      operationId: 'removeDocument',
      summary: 'Remove a document (a job)',
      params: DocumentParams,
      responses: {
        200: removed,
        202: ok('removal enqueued (wait=true: still under way at timeoutMs); GET /jobs/remove/{id} for its counts', R.RemovalAccepted, exampleRemoveJob),
        ...errors(400, 401, 404, 503),
      },
    },
    {
      ...removal,
      method: 'post',
      path: '/documents/delete',
      operationId: 'removeDocuments',
      summary: 'Remove every document matching a metadata filter (a job; dryRun only counts)',
      body: { schema: schemas.RemoveRequest, example: { where: { lang: 'en' }, dryRun: true } },
      responses: {
        200: removed,
        202: ok('removal enqueued (wait=true: still under way at timeoutMs); its result counts documents and chunks', R.RemovalAccepted, exampleRemoveJob),
        ...errors(400, 401, 503),
      },
    },
  ];
}

function addDocumentRoute(config: RegistryConfig, schemas: RequestSchemas): RouteSpec {
  return {
    method: 'post',
    path: '/documents',
    operationId: 'addDocument',
    access: 'write',
    tag: 'documents',
    summary: 'Add or replace a document (JSON text or an uploaded file)',
    description: `Stores the document (pending) and enqueues its ingest; 202 at once. POSTs without an Idempotency-Key that arrive together are written in one transaction and share one ingest-batch job (at most ${config.MAX_BATCH_DOCUMENTS} documents): the answer's job names its queue, \`ingest\` or \`ingest-batch\`. ${waitDescription(config, 'the document')} An Idempotency-Key makes a retry return the first answer without a second revision. An existing id is replaced (a new revision). Instead of JSON, send multipart/form-data with one file (.txt, .md, .html, .pdf; at most ${config.UPLOAD_MAX_BYTES} bytes, PDFs at most ${config.UPLOAD_PDF_MAX_PAGES} pages): its text is extracted and validated like \`text\`; metadata.source records {fileName, contentType, bytes, pages?} and the title defaults to the file name.`,
    query: schemas.WriteWaitQuery,
    headers: idempotencyHeader,
    body: { schema: schemas.DocumentInput, example: { id: 'bees', title: 'Bees', text: 'Honey bees store nectar in the comb.', metadata: { lang: 'en' } } },
    upload: { fields: UploadFields, fileField: 'file', description: 'file: the document; id, title: as in JSON; metadata: a JSON object as a string' },
    responses: {
      200: ok('wait=true: searchable through every live worker, or its ingest failed (state)', R.DocumentAccepted, {
        document: { id: 'bees', status: 'ready', revision: 1 },
        job: { queue: 'ingest', id: 'ingest:bees:1' },
        state: 'searchable',
        seq: 12,
      }),
      202: ok('stored; ingest enqueued (wait=true: still under way at timeoutMs, with the state so far)', R.DocumentAccepted, {
        document: { id: 'bees', status: 'pending', revision: 1 },
        job: { queue: 'ingest', id: 'ingest:bees:1' },
      }),
      ...errors(400, 401, 409, 413, 415, 429, 503),
    },
  };
}

export function searchRoutes(schemas: RequestSchemas): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/search',
      operationId: 'search',
      access: 'read',
      tag: 'search',
      summary: 'Search by meaning and by words, optionally filtered by metadata',
      description:
        'mode: hybrid (default) fuses the vector and the lexical side by reciprocal rank; vector ranks by meaning; lexical by the words of the query (any of them; punctuation is never query syntax). ' +
        'where (applied to both sides): {field: value}, {field: {$eq|$ne|$gt|$gte|$lt|$lte: v}}, {field: {$in|$nin: [..]}}, {field: {$exists: bool}}, {field: {$contains: v}}, {field: {$not: {..}}}, {$and: [..]}, {$or: [..]}, {$not: filter}; field names ^[A-Za-z0-9_.-]{1,64}$, a dot means nesting.',
      body: { schema: schemas.SearchRequest, example: { query: 'where is nectar kept', k: 3, where: { lang: 'en' }, mode: 'hybrid' } },
      responses: {
        200: ok('best first', R.SearchResponse, {
          results: [
            {
              documentId: 'bees',
              chunkId: 7,
              text: 'Honey bees store nectar in the comb.',
              score: 1,
              vectorScore: 0.61,
              lexicalScore: 2.4,
              vectorRank: 1,
              lexicalRank: 1,
              title: 'Bees',
              metadata: { lang: 'en' },
            },
          ],
          seq: 12,
        }),
        ...errors(400, 401, 409, 503, 504),
      },
    },
  ];
}
