/**
 * Collections (DESIGN.md §13): create (with its embedder, fixed until a reindex), list, read
 * (counts and every worker's index of it, from the heartbeats: generation, embedder, ready or
 * degraded), reindex and delete. A reindex is a job (jobs/reindex.ts): the next generation is
 * started in the transaction that records it, so only one builds at a time. A deletion is a job too
 * (jobs/drop-collection.ts): the collection is marked deleting in the transaction that records the
 * job, so from the 202 on it is not found anywhere. `default` always exists and cannot be deleted.
 * A key sees the collections of its scope only (authorize.ts answers 404 for the others; the list
 * leaves them out).
 */
import { Router } from 'express';
import { z } from 'zod';
import {
  countCollectionContents,
  createCollection,
  findCollection,
  listCollections,
  markCollectionDeleting,
  type CollectionRecord,
} from '../../../shared/src/db/collections-repo.js';
import { readHeartbeats } from '../../../shared/src/heartbeats.js';
import type { Config } from '../../../shared/src/config.js';
import { ConflictError, NotFoundError } from '../../../shared/src/errors.js';
import { CollectionId, DEFAULT_COLLECTION, metadataSchema, text } from '../../../shared/src/input.js';
import { dropCollectionJobId } from '../../../shared/src/jobs/drop-collection.js';
import { reindexJobId } from '../../../shared/src/jobs/reindex.js';
import { readCollectionGenerations, startGeneration } from '../../../shared/src/db/generations-repo.js';
import { defaultEmbedderSpec, EmbedderSpec } from '../../../shared/src/embedder-spec.js';
import { acceptJob } from '../../../shared/src/queue/accept-job.js';
import { withTimeout } from '../../../shared/src/time-limits.js';
import { parse } from '../../../shared/src/validation.js';
import type { RequestLimitsConfig } from '../http/request-schemas.js';
import { canSeeCollection, principalOf } from '../http/access.js';
import { localsOf } from '../http/request-context.js';
import type { ApiServices } from '../services.js';

const HEARTBEAT_TIMEOUT_MS = 1_000;

/** The collection routes' request schemas; the route registry describes these same ones. */
export function createCollectionSchemas(config: RequestLimitsConfig & Pick<Config, 'EMBEDDER' | 'EMBED_MODEL'>) {
  const spec = EmbedderSpec.describe(
    `builtin (feature hashing at BUILTIN_EMBED_DIM), builtin:<dimension> or ollama:<model> (an Ollama embedding model, e.g. ollama:nomic-embed-text); default ${defaultEmbedderSpec(config)}, the deployment's EMBEDDER`,
  );
  const CollectionInput = z.strictObject({
    id: CollectionId,
    title: text(config.MAX_TITLE_CHARS).nullable().optional(),
    embedder: spec.optional(),
    metadata: metadataSchema({ maxBytes: config.MAX_METADATA_BYTES, maxDepth: config.MAX_METADATA_DEPTH }).optional(),
  });
  const CollectionParams = z.strictObject({ collection: CollectionId });
  const ReindexInput = z.strictObject({
    embedder: EmbedderSpec.describe('the embedder of the new generation: builtin, builtin:<dimension> or ollama:<model>'),
  });
  return { CollectionInput, CollectionParams, ReindexInput };
}

export function collectionsRouter(s: ApiServices): Router {
  const router = Router();
  const { CollectionInput, CollectionParams, ReindexInput } = createCollectionSchemas(s.config);

  router.post('/collections', async (req, res) => {
    const input = parse(CollectionInput, req.body, 'collection');
    const embedder = input.embedder ?? defaultEmbedderSpec(s.config);
    const created = await createCollection(s.db, { id: input.id, title: input.title ?? null, embedder, metadata: input.metadata ?? {} });
    if (!created) throw new ConflictError(`collection ${input.id} already exists`);
    res.status(201).json(viewOf(created));
  });

  router.get('/collections', async (_req, res) => {
    const principal = principalOf(res);
    res.json({ collections: (await listCollections(s.db)).filter((c) => canSeeCollection(principal, c.id)).map(viewOf) });
  });

  router.get('/collections/:collection', async (req, res) => {
    const { collection: id } = parse(CollectionParams, { ...req.params }, 'collection');
    res.json(await collectionDetail(s, id));
  });

  router.post('/collections/:collection/reindex', async (req, res) => {
    const { collection: id } = parse(CollectionParams, { ...req.params }, 'collection');
    const input = parse(ReindexInput, req.body, 'reindex');
    const { job, generation } = await acceptReindex(s, id, input.embedder, localsOf(res).requestId);
    res.status(202).json({ job, collection: id, generation, embedder: input.embedder });
  });

  router.delete('/collections/:collection', async (req, res) => {
    const { collection: id } = parse(CollectionParams, { ...req.params }, 'collection');
    if (id === DEFAULT_COLLECTION) throw new ConflictError('collection default cannot be deleted');
    const { requestId } = localsOf(res);
    const { job } = await acceptJob(s, s.queues['drop-collection'], async (trx) => {
      const collection = await findCollection(trx, id);
      if (!collection || !(await markCollectionDeleting(trx, id))) throw new NotFoundError(`collection ${id} not found`);
      return { value: collection, jobId: dropCollectionJobId(id, collection.uid), data: { collection: id, uid: collection.uid, requestId } };
    });
    res.status(202).json({ job });
  });
  return router;
}

/** GET /collections/:c: the collection, its counts, its fingerprint and every live worker's index of it. */
async function collectionDetail(s: ApiServices, id: string) {
  const collection = await findCollection(s.db, id);
  if (!collection) throw new NotFoundError(`collection ${id} not found`);
  const [counts, beats] = await Promise.all([
    countCollectionContents(s.db, id),
    withTimeout(readHeartbeats(s.redis, s.config.QUEUE_PREFIX, s.config.HEARTBEAT_INTERVAL_MS * 3), HEARTBEAT_TIMEOUT_MS, 'redis did not answer'),
  ]);
  const workers = beats.flatMap((beat) => {
    const index = beat.collections?.[id];
    return index ? [{ id: beat.id, ...index, lastSeen: new Date(beat.lastSeen).toISOString() }] : [];
  });
  const generations = await readCollectionGenerations(s.db, id);
  return { ...viewOf(collection), ...counts, fingerprint: generations?.current.fingerprint ?? null, workers };
}

/** POST /collections/:c/reindex: a new generation and its job, in one transaction; 409 while another builds. */
async function acceptReindex(s: ApiServices, id: string, embedder: string, requestId: string) {
  const { value, job } = await acceptJob(s, s.queues.reindex, async (trx) => {
    const collection = await findCollection(trx, id);
    const started = collection?.status === 'active' ? await startGeneration(trx, id, embedder) : undefined;
    if (!collection || !started) throw new NotFoundError(`collection ${id} not found`);
    if ('busy' in started) {
      throw new ConflictError(`a reindex of collection ${id} is under way (generation ${started.busy}, job ${reindexJobId(id, collection.uid, started.busy)})`);
    }
    const { generation } = started;
    return { value: { generation }, jobId: reindexJobId(id, collection.uid, generation), data: { collection: id, uid: collection.uid, generation, requestId } };
  });
  return { job, generation: value.generation };
}

function viewOf(c: CollectionRecord) {
  return {
    id: c.id,
    title: c.title,
    embedder: c.embedder,
    generation: c.generation,
    buildingGeneration: c.buildingGeneration,
    metadata: c.metadata,
    status: c.status,
    createdAt: c.createdAt,
  };
}
