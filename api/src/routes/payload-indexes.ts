/**
 * Payload indexes (DESIGN.md §5): a collection declares the metadata fields its filters read most,
 * and every worker keeps postings of them beside its HNSW index, so a `where` on declared fields is
 * answered without SQL. Declaring and dropping are one transaction each, with an `index` row in the
 * collection's change log that every worker's next sync applies (payload-indexes-repo.ts).
 */
import { Router } from 'express';
import { z } from 'zod';
import { declarePayloadIndex, dropPayloadIndex, listPayloadIndexes, PAYLOAD_TYPES } from '../../../shared/src/db/payload-indexes-repo.js';
import { requireActiveCollection } from '../../../shared/src/db/collections-repo.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import { CollectionId } from '../../../shared/src/input.js';
import { parse } from '../../../shared/src/validation.js';
import { announceCommit } from '../../../shared/src/applied-seqs.js';
import { serializeError } from '../../../shared/src/logger.js';
import type { ApiServices } from '../services.js';

/** FIELD_NAME_PATTERN without empty segments, in one pattern, so the API description says exactly what is taken. */
const FIELD_PATH_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const FieldName = z
  .string()
  .max(64)
  .regex(FIELD_PATH_PATTERN, 'field names are letters, digits, _ and -, with single dots between segments (a dot means nesting)')
  .describe('a metadata field as `where` names it: a dot means nesting (author.name)');

/** The payload index routes' request schemas; the route registry describes these same ones. */
export function createPayloadIndexSchemas() {
  const PayloadIndexInput = z.strictObject({
    field: FieldName,
    type: z.enum(PAYLOAD_TYPES).describe('keyword (strings, kept in order for string ranges), number (kept in order for numeric ranges) or bool'),
  });
  const PayloadIndexParams = z.strictObject({ collection: CollectionId });
  const PayloadIndexFieldParams = z.strictObject({ collection: CollectionId, field: FieldName });
  return { PayloadIndexInput, PayloadIndexParams, PayloadIndexFieldParams };
}

/**
 * Tells the workers the log moved, so an idle one builds the field now rather than in its next
 * search's sync. At most once: a lost announcement only moves the build to that sync.
 */
async function announce(s: ApiServices, collection: string, seq: number): Promise<void> {
  await announceCommit(s.redis, s.config.QUEUE_PREFIX, { collection, seq }).catch((err: unknown) =>
    s.logger.warn('payload index change not announced; workers apply it at their next sync', { err: serializeError(err) }),
  );
}

export function payloadIndexesRouter(s: ApiServices): Router {
  const router = Router();
  const { PayloadIndexInput, PayloadIndexParams, PayloadIndexFieldParams } = createPayloadIndexSchemas();

  router.post('/collections/:collection/indexes', async (req, res) => {
    const { collection } = parse(PayloadIndexParams, { ...req.params }, 'collection');
    const input = parse(PayloadIndexInput, req.body, 'index');
    const { index, created, seq } = await declarePayloadIndex(s.db, { collection, field: input.field, type: input.type, max: s.config.MAX_PAYLOAD_INDEXES });
    if (seq !== undefined) await announce(s, collection, seq);
    res.status(created ? 201 : 200).json(index);
  });

  router.get('/collections/:collection/indexes', async (req, res) => {
    const { collection } = parse(PayloadIndexParams, { ...req.params }, 'collection');
    await requireActiveCollection(s.db, collection); // NotFoundError
    res.json({ indexes: await listPayloadIndexes(s.db, collection) });
  });

  router.delete('/collections/:collection/indexes/:field', async (req, res) => {
    const { collection, field } = parse(PayloadIndexFieldParams, { ...req.params }, 'index');
    const dropped = await dropPayloadIndex(s.db, collection, field);
    if (!dropped) throw new NotFoundError(`collection ${collection} has no payload index on ${field}`);
    await announce(s, collection, dropped.seq);
    res.json({ field: dropped.field, type: dropped.type, createdAt: dropped.createdAt });
  });

  return router;
}
