/** The route registry's entries for collections, and the collection-scoped copies of the documents, search and chat routes. */
import { z } from 'zod';
import { CollectionId } from '../../../shared/src/input.js';
import { createCollectionSchemas } from '../routes/collections.js';
import { TIME } from './route-examples.js';
import * as R from './response-schemas.js';
import { errors, ok, type RegistryConfig, type RouteSpec } from './route-spec.js';

const exampleCollection = {
  id: 'handbook',
  title: 'Beekeeping handbook',
  embedder: 'ollama:nomic-embed-text',
  generation: 1,
  buildingGeneration: null,
  metadata: { team: 'apiary' },
  status: 'active',
  createdAt: TIME,
};

const exampleCollectionDetail = {
  ...exampleCollection,
  documents: 3,
  chunks: 12,
  sessions: 1,
  fingerprint: 'ollama:nomic-embed-text:latest:0a109f422b47:768',
  workers: [
    {
      id: 'worker-1',
      size: 12,
      appliedSeq: 40,
      checkpointSeq: 40,
      lastSyncMs: 0.04,
      generation: 1,
      embedder: 'ollama:nomic-embed-text:latest:0a109f422b47:768',
      status: 'ready',
      lastSeen: TIME,
    },
  ],
};

export function collectionRoutes(config: RegistryConfig): RouteSpec[] {
  const schemas = createCollectionSchemas(config);
  return [...collectionReadRoutes(schemas), ...collectionAdminRoutes(schemas)];
}

type CollectionSchemas = ReturnType<typeof createCollectionSchemas>;

function collectionReadRoutes({ CollectionParams }: CollectionSchemas): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/collections',
      operationId: 'listCollections',
      access: 'read',
      tag: 'collections',
      summary: 'Every collection, default included, in id order',
      responses: { 200: ok('the collections', R.CollectionList, { collections: [exampleCollection] }), ...errors(401) },
    },
    {
      method: 'get',
      path: '/collections/:collection',
      operationId: 'getCollection',
      access: 'read',
      tag: 'collections',
      summary: "A collection with its counts and every worker's index of it",
      params: CollectionParams,
      responses: {
        200: ok('the collection', R.CollectionDetail, exampleCollectionDetail),
        ...errors(400, 401, 404, 503),
      },
    },
  ];
}

function collectionAdminRoutes({ CollectionInput, CollectionParams, ReindexInput }: CollectionSchemas): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/collections',
      operationId: 'createCollection',
      access: 'admin',
      needsAllCollections: true,
      tag: 'collections',
      summary: 'Create a collection (a knowledge base of its own: documents, index, chat sessions)',
      description:
        'embedder: `builtin`, `builtin:<dimension>` or `ollama:<model>`, fixed at creation (a reindex changes it); ' +
        "default: the deployment's EMBEDDER. A worker that cannot serve it (Ollama down, model missing) reports the collection degraded.",
      body: {
        schema: CollectionInput,
        example: { id: 'handbook', title: 'Beekeeping handbook', embedder: 'ollama:nomic-embed-text', metadata: { team: 'apiary' } },
      },
      responses: { 201: ok('created', R.CollectionView, exampleCollection), ...errors(400, 401, 409) },
    },
    {
      method: 'post',
      path: '/collections/:collection/reindex',
      access: 'admin',
      operationId: 'reindexCollection',
      tag: 'collections',
      summary: 'Re-embed a collection with another embedder, as a new generation built beside the current one (a job)',
      description:
        'Searches keep using the current generation while the job embeds every chunk into the new one (progress in GET /jobs/reindex/:id); ' +
        'documents ingested meanwhile land in both. The swap is one transaction and every worker switches without a restart. One reindex at a time per collection (409).',
      params: CollectionParams,
      body: { schema: ReindexInput, example: { embedder: 'ollama:mxbai-embed-large' } },
      responses: {
        202: ok('reindex enqueued', R.ReindexAccepted, {
          job: { queue: 'reindex', id: 'reindex:handbook:3f6c2a1e-5b7d-4c8e-9f0a-1b2c3d4e5f60:2' },
          collection: 'handbook',
          generation: 2,
          embedder: 'ollama:mxbai-embed-large',
        }),
        ...errors(400, 401, 404, 409, 503),
      },
    },
    {
      method: 'delete',
      path: '/collections/:collection',
      operationId: 'deleteCollection',
      access: 'admin',
      tag: 'collections',
      summary: 'Delete a collection with everything in it (a job); default cannot be deleted (409)',
      params: CollectionParams,
      responses: {
        202: ok('deletion enqueued; the collection is not found from now on', R.JobAccepted, {
          job: { queue: 'drop-collection', id: 'drop-collection:handbook:3f6c2a1e-5b7d-4c8e-9f0a-1b2c3d4e5f60' },
        }),
        ...errors(400, 401, 404, 409, 503),
      },
    },
  ];
}

/** The same routes under /collections/:collection, where they act on that collection (an unknown one is a 404). */
export function inCollection(routes: RouteSpec[]): RouteSpec[] {
  return routes.map((route) => ({
    ...route,
    path: `/collections/:collection${route.path}`,
    operationId: `${route.operationId}InCollection`,
    summary: `${route.summary} (in a collection)`,
    params: route.params ? route.params.extend({ collection: CollectionId }) : z.strictObject({ collection: CollectionId }),
    responses: { ...errors(404), ...route.responses },
  }));
}
