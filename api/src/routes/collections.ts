/**
 * Collections (DESIGN.md §13): create, list, read (counts and every worker's index of it, from the
 * heartbeats) and delete. A deletion is a job (jobs/drop-collection.ts): the collection is marked
 * deleting in the transaction that records the job, so from the 202 on it is not found anywhere.
 * `default` always exists and cannot be deleted. A key sees the collections of its scope only
 * (authorize.ts answers 404 for the others; the list leaves them out).
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
import { acceptJob } from '../../../shared/src/queue/accept-job.js';
import { withTimeout } from '../../../shared/src/time-limits.js';
import { parse } from '../../../shared/src/validation.js';
import type { RequestLimitsConfig } from '../http/request-schemas.js';
import { canSeeCollection, principalOf } from '../http/access.js';
import { localsOf } from '../http/request-context.js';
import type { ApiServices } from '../services.js';

const HEARTBEAT_TIMEOUT_MS = 1_000;

/** The collection routes' request schemas; the route registry describes these same ones. */
export function createCollectionSchemas(config: RequestLimitsConfig & Pick<Config, 'EMBEDDER'>) {
  const CollectionInput = z.strictObject({
    id: CollectionId,
    title: text(config.MAX_TITLE_CHARS).nullable().optional(),
    // Only the deployment's EMBEDDER for now (the default): per-collection embedders are not built yet.
    embedder: z.literal(config.EMBEDDER).optional().describe("the deployment's EMBEDDER (the default): per-collection embedders are not built yet"),
    metadata: metadataSchema({ maxBytes: config.MAX_METADATA_BYTES, maxDepth: config.MAX_METADATA_DEPTH }).optional(),
  });
  const CollectionParams = z.strictObject({ collection: CollectionId });
  return { CollectionInput, CollectionParams };
}

export function collectionsRouter(s: ApiServices): Router {
  const router = Router();
  const { CollectionInput, CollectionParams } = createCollectionSchemas(s.config);

  router.post('/collections', async (req, res) => {
    const input = parse(CollectionInput, req.body, 'collection');
    const embedder = input.embedder ?? s.config.EMBEDDER;
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
    res.json({ ...viewOf(collection), ...counts, workers });
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

function viewOf(c: CollectionRecord) {
  return { id: c.id, title: c.title, embedder: c.embedder, metadata: c.metadata, status: c.status, createdAt: c.createdAt };
}
