/** The route registry's entries for batch writes, metadata updates, counting and reading chunks back. */
import { z } from 'zod';
import { Id } from '../../../shared/src/input.js';
import { IdempotencyKey } from './idempotency.js';
import type { RequestSchemas } from './request-schemas.js';
import { exampleDocument } from './route-examples.js';
import * as R from './response-schemas.js';
import { errors, ok, type RegistryConfig, type RouteSpec } from './route-spec.js';

export const idempotencyHeader = {
  'Idempotency-Key': {
    description: 'optional: a retry with the same key returns the first answer (Idempotent-Replayed: true) and stores nothing again',
    schema: IdempotencyKey,
  },
};

export function waitDescription(config: Pick<RegistryConfig, 'WRITE_WAIT_MAX_MS'>, what: string): string {
  return `With wait=true the answer waits until ${what} is searchable through every live worker (200, state searchable, with the change's seq), or its job failed (200, state failed, jobError); after timeoutMs (default and at most ${config.WRITE_WAIT_MAX_MS}) it is a 202 with the state so far (pending or committed).`;
}

export function documentDataRoutes(config: RegistryConfig, schemas: RequestSchemas): RouteSpec[] {
  return [batchRoute(config, schemas), ...documentReadBackRoutes(config, schemas)];
}

/** `:id` of the routes under /documents/:id (document-route-specs.ts uses it too). */
export const DocumentParams = z.strictObject({ id: Id });

function batchRoute(config: RegistryConfig, schemas: RequestSchemas): RouteSpec {
  const batchItem = { id: 'bees', revision: 1, status: 'pending', job: { queue: 'ingest-batch', id: 'ingest-batch:0b8f6a4e-3c1d-4f2a-9e7b-5d6c4b3a2f1e' } };
  return {
    method: 'post',
    path: '/documents/batch',
    access: 'write',
    operationId: 'addDocuments',
    tag: 'documents',
    summary: `Add or replace up to ${config.MAX_BATCH_DOCUMENTS} documents at once`,
    description: `All or nothing: every item is validated first and one bad item refuses the whole batch (400; details name each bad item as documents.<index>.<field>); otherwise every document and one ingest-batch job for all of them are stored in one transaction (for 100 documents one job was 10 times faster until searchable than a job per document); GET /jobs/ingest-batch/{id} has each document's outcome (requeued: a batch retried after an attempt that did not finish hands each document to its own ingest job, named in job, so one document that crashes its worker fails alone). ${waitDescription(config, 'every document')} The body stays within BODY_LIMIT_BYTES.`,
    query: schemas.WriteWaitQuery,
    headers: idempotencyHeader,
    body: {
      schema: schemas.DocumentBatch,
      example: { documents: [{ id: 'bees', text: 'Honey bees store nectar in the comb.' }, { text: 'Wasps make paper nests.' }] },
    },
    responses: {
      200: ok('wait=true: every document searchable through every live worker, or its ingest failed', R.DocumentBatchAccepted, {
        documents: [{ ...batchItem, status: 'ready', state: 'searchable', seq: 12 }],
      }),
      202: ok('stored; one ingest-batch job (wait=true: not all done at timeoutMs, each with its state so far)', R.DocumentBatchAccepted, {
        documents: [batchItem],
      }),
      ...errors(400, 401, 409, 503),
    },
  };
}

/** PATCH of metadata, and reading back: count by filter, a document's chunks. */
function documentReadBackRoutes(config: RegistryConfig, schemas: RequestSchemas): RouteSpec[] {
  return [
    {
      method: 'patch',
      path: '/documents/:id',
      access: 'write',
      operationId: 'updateDocumentMetadata',
      tag: 'documents',
      summary: "Replace a document's metadata (nothing is embedded again)",
      description: 'Filters of search, count, listing and removal see the new metadata from the moment this answers, all alike.',
      params: DocumentParams,
      body: { schema: schemas.MetadataPatch, example: { metadata: { lang: 'en', reviewed: true } } },
      responses: {
        200: ok('the updated document', R.DocumentView, { ...exampleDocument, metadata: { lang: 'en', reviewed: true } }),
        ...errors(400, 401, 404),
      },
    },
    {
      method: 'post',
      path: '/documents/count',
      access: 'read',
      operationId: 'countDocuments',
      tag: 'documents',
      summary: 'Count the documents matching a metadata filter',
      description: 'where: the filter language of POST /search; without it, every document of the collection.',
      body: { schema: schemas.CountRequest, example: { where: { tags: { $contains: 'bees' } } } },
      responses: { 200: ok('how many', R.DocumentCount, { count: 3 }), ...errors(400, 401) },
    },
    {
      method: 'get',
      path: '/documents/:id/chunks',
      access: 'read',
      operationId: 'listDocumentChunks',
      tag: 'documents',
      summary: "A document's chunks as stored, with the span of its text each covers",
      description: `In ordinal order, limit per page (at most ${config.MAX_PAGE_SIZE}; after = the previous page's nextAfter); or, with around=<chunkId>, that chunk and n neighbours on each side.`,
      params: DocumentParams,
      query: schemas.ChunksQuery,
      responses: {
        200: ok('the chunks', R.DocumentChunks, {
          documentId: 'bees',
          revision: 1,
          chunks: [{ id: 7, ordinal: 0, text: 'Honey bees store nectar in the comb.', start: 0, end: 36 }],
          nextAfter: null,
        }),
        ...errors(400, 401, 404),
      },
    },
  ];
}
