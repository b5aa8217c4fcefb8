/**
 * Brings a payload index's fields in line with the collection's declarations (payload_indexes):
 * a field no longer declared (or declared with another type) is dropped, a new one is built by one
 * pass over the chunks table reading that field alone. Run when the index loads and for each
 * `index` row of the log, under the index lock; chunks committed meanwhile reach it through their
 * own add rows, which carry the declared fields from then on.
 */
import type { Knex } from 'knex';
import { readChunkFields } from '../../../shared/src/db/chunks-repo.js';
import { listPayloadIndexes } from '../../../shared/src/db/payload-indexes-repo.js';
import type { PayloadIndex } from './payload-index.js';

const BUILD_BATCH = 5_000;

export async function syncDeclarations(db: Knex, collection: string, payload: PayloadIndex, isLive: (label: number) => boolean): Promise<void> {
  const declared = await listPayloadIndexes(db, collection);
  for (const name of payload.fieldNames) if (!declared.some((d) => d.field === name && payload.has(name, d.type))) payload.undeclare(name);
  const fresh = declared.filter((d) => !payload.has(d.field, d.type));
  if (fresh.length === 0) return;
  for (const declaration of fresh) payload.declare(declaration);
  const names = fresh.map((declaration) => declaration.field);
  try {
    await fill(db, collection, payload, names, isLive);
  } catch (err) {
    for (const name of names) payload.undeclare(name); // half built: the next sync builds them again
    throw err;
  }
}

async function fill(db: Knex, collection: string, payload: PayloadIndex, names: readonly string[], isLive: (label: number) => boolean): Promise<void> {
  const paths = names.map((name) => name.split('.'));
  for (let afterId = 0; ;) {
    const rows = await readChunkFields(db, paths, { afterId, limit: BUILD_BATCH }, collection);
    for (const row of rows) if (isLive(row.id)) payload.set(row.id, names, row.values);
    if (rows.length < BUILD_BATCH) return;
    afterId = rows.at(-1)?.id ?? afterId;
  }
}
