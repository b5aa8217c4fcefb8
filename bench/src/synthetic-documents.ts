/**
 * Loads synthetic vectors fast, through the repo functions the worker relies on (documents row, then
 * chunks with embeddings and their vector_log rows in one transaction), so the worker's start-up
 * rebuild or checkpoint load is part of what is measured. Every document gets a `group` in 0..99 in
 * its metadata: `{ group: { $lt: p } }` keeps p % of the documents, hence p % of the chunks. The
 * same number is its `bucket` too: the run declares a payload index on `group` and none on
 * `bucket`, so one filter is answered by the worker's postings and the other in SQL, over equal sets.
 */
import type { Knex } from 'knex';
import { hashContent, upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { readChunkEmbeddings, replaceDocumentChunks } from '../../shared/src/db/chunks-repo.js';

const GROUPS = 100;
const CHUNKS_PER_DOCUMENT = 100;
const READ_BATCH = 2_000;

/** Where synthetic chunks go and what their text is (the lexical index gets it): the default collection and "synthetic chunk N of D" unless told. */
export interface SyntheticPlacement {
  collection?: string;
  idPrefix?: string; // document ids are <idPrefix><n>
  chunkText?: (index: number) => string; // index: the chunk's position in the loaded vectors
}

export interface SyntheticLoad {
  documents: number;
  chunkIds: number[]; // in id order
  vectors: number[][]; // as stored (float32), in id order: what the worker's index holds
  loadMs: number;
}

export async function loadSyntheticDocuments(db: Knex, vectors: readonly number[][], placement: SyntheticPlacement = {}): Promise<SyntheticLoad> {
  const started = performance.now();
  const { documents, perDocument } = layoutOf(vectors.length);
  for (let i = 0; i < documents; i++) {
    const slice = vectors.slice(i * perDocument, (i + 1) * perDocument);
    if (slice.length === 0) break;
    const chunkText = placement.chunkText;
    const texts = chunkText ? slice.map((_, ordinal) => chunkText(i * perDocument + ordinal)) : undefined;
    await addSyntheticDocument(
      db,
      `${placement.idPrefix ?? 'syn-'}${i}`,
      slice,
      { group: groupOf(i), bucket: groupOf(i) },
      { collection: placement.collection, texts },
    );
  }
  const loadMs = performance.now() - started;
  const chunkIds: number[] = [];
  const stored: number[][] = [];
  for (let afterId = 0; ;) {
    const rows = await readChunkEmbeddings(db, afterId, READ_BATCH, placement.collection);
    for (const row of rows) {
      chunkIds.push(row.id);
      stored.push(row.embedding);
    }
    if (rows.length < READ_BATCH) break;
    afterId = rows[rows.length - 1]?.id ?? afterId;
  }
  if (stored.length !== vectors.length) throw new Error(`loaded ${vectors.length} vectors but read back ${stored.length}`);
  return { documents, chunkIds, vectors: stored, loadMs };
}

/** One ready document whose chunks carry exactly these embeddings (and `texts`, when given). */
export async function addSyntheticDocument(
  db: Knex,
  id: string,
  vectors: readonly number[][],
  metadata: Record<string, unknown> = {},
  options: { collection?: string | undefined; texts?: readonly string[] | undefined } = {},
): Promise<number> {
  const text = `synthetic document ${id}`;
  const { collection, texts } = options;
  const saved = await upsertPendingDocument(db, { collection, id, text, metadata, requestId: 'bench' });
  const outcome = await replaceDocumentChunks(db, {
    ...(collection === undefined ? {} : { collection }),
    documentId: id,
    revision: saved.revision,
    contentHash: hashContent(text),
    chunks: vectors.map((embedding, ordinal) => ({ text: texts?.[ordinal] ?? `synthetic chunk ${ordinal} of ${id}`, embedding: [...embedding] })),
  });
  if (outcome.status !== 'replaced') throw new Error(`synthetic document ${id} was superseded while loading`);
  return outcome.chunks;
}

/** How `count` chunks are spread over documents: at least one document per group, up to 100 chunks each. */
function layoutOf(count: number): { documents: number; perDocument: number } {
  const documents = Math.max(GROUPS, Math.ceil(count / CHUNKS_PER_DOCUMENT));
  return { documents, perDocument: Math.ceil(count / documents) };
}

/** The `group` of each of `count` chunks loaded by loadSyntheticDocuments, in load order: what another system is given to filter on. */
export function syntheticGroups(count: number): number[] {
  const { perDocument } = layoutOf(count);
  return Array.from({ length: count }, (_, index) => groupOf(Math.floor(index / perDocument)));
}

/** A permutation of the groups for the first 100 documents (37 is coprime with 100), then round again. */
function groupOf(documentIndex: number): number {
  return (documentIndex * 37) % GROUPS;
}

export const DECLARED_FIELD = 'group'; // the run declares a payload index on it (number)
export const UNDECLARED_FIELD = 'bucket'; // the same values, resolved in SQL

/** The filter keeping `percent` % of the synthetic documents, on the declared field or the undeclared one. */
export function selectivityWhere(percent: number, field: string = DECLARED_FIELD): Record<string, unknown> {
  return { [field]: { $lt: percent } };
}
