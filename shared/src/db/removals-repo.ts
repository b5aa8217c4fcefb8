/**
 * A removal removes what existed when it was acknowledged, and no later write: the API records its
 * targets (each document at its revision then) in the transaction that records the job, and the
 * worker deletes only documents still at that revision. A document posted again since keeps its
 * new revision; a filter is never evaluated again against metadata that changed since.
 */
import type { Knex } from 'knex';
import { chunkIdsOf, deleteChunksWithLog, latestSeq } from './chunks-repo.js';
import { compileWhere, dialectOf, type Where } from './where.js';
import { logWriteTransaction } from './write-transaction.js';
import { DEFAULT_COLLECTION } from '../input.js';

const BATCH = 500;

export type RemovalTarget = { documentId: string } | { where: Where };

/** Records the documents of `collection` the removal `jobId` takes, as they are now; returns how many. */
export async function recordRemovalTargets(trx: Knex, jobId: string, target: RemovalTarget, collection = DEFAULT_COLLECTION): Promise<number> {
  const { sql, bindings } =
    'documentId' in target ? { sql: 'id = ?', bindings: [target.documentId] } : compileWhere(target.where, 'documents.metadata', dialectOf(trx));
  const inserted: unknown = await trx.raw(
    `insert into removal_targets (job_id, collection_id, document_id, revision) select ?, collection_id, id, revision from documents where collection_id = ? and (${sql})`,
    [jobId, collection, ...bindings],
  );
  return insertedCount(inserted);
}

/** seq: the vector_log seq of the commit (absent for a dry run). */
export type RemovalCounts = { documents: number; chunks: number; seq?: number };

/**
 * Deletes the recorded targets still at their recorded revision, with their chunks, logging every
 * delete; counts only when dryRun. `onCommit` runs in the same transaction with the counts (the
 * job's outcome is stored with the deletes, so a re-run after a crash never reports other counts).
 */
export async function removeRecordedTargets(
  db: Knex,
  jobId: string,
  dryRun: boolean,
  onCommit: (trx: Knex, counts: RemovalCounts) => Promise<void>,
  collection = DEFAULT_COLLECTION,
): Promise<RemovalCounts> {
  const work = async (trx: Knex) => {
    const rows = (await trx('removal_targets as t')
      .join('documents as d', function matchRevision() {
        this.on('d.collection_id', '=', 't.collection_id').andOn('d.id', '=', 't.document_id').andOn('d.revision', '=', 't.revision');
      })
      .select('d.id')
      .where('t.job_id', jobId)
      .where('t.collection_id', collection)
      .forUpdate()) as Array<{ id: string }>; // Postgres: a POST of a newer revision in flight is waited for, and its row no longer matches
    const documentIds = rows.map((row) => row.id);
    const chunkIds = await chunkIdsOf(trx, documentIds, collection);
    if (!dryRun) {
      await deleteChunksWithLog(trx, chunkIds, collection);
      for (let start = 0; start < documentIds.length; start += BATCH) {
        await trx('documents')
          .where('collection_id', collection)
          .whereIn('id', documentIds.slice(start, start + BATCH))
          .delete();
      }
    }
    await trx('removal_targets').where({ job_id: jobId }).delete();
    const counts: RemovalCounts = { documents: documentIds.length, chunks: chunkIds.length, ...(dryRun ? {} : { seq: await latestSeq(trx, collection) }) };
    await onCommit(trx, counts);
    return counts;
  };
  return dryRun ? db.transaction(work) : logWriteTransaction(db, work);
}

/** Rows an INSERT … SELECT wrote: better-sqlite3 reports `changes`, pg `rowCount`. */
function insertedCount(result: unknown): number {
  if (typeof result === 'object' && result !== null) {
    if ('changes' in result && typeof result.changes === 'number') return result.changes;
    if ('rowCount' in result && typeof result.rowCount === 'number') return result.rowCount;
  }
  throw new Error('the database did not say how many removal targets it recorded');
}
