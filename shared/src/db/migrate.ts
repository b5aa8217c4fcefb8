/**
 * Runs the migrations under knex's migration lock. Several processes may start at once (release
 * phase, web, workers): a process that finds the lock taken, or loses the race to create knex's own
 * tables, waits and tries again until the winner is done.
 * knex's lock is one row that a process flips from 0 to 1, and it insists the update touch exactly
 * one row. Two processes creating knex's tables at the same moment can each insert that row; with
 * two rows the lock can never be taken again. A process that finds the lock busy repairs that case.
 */
import type { Knex } from 'knex';
import type { Logger } from '../logger.js';
import { serializeError } from '../logger.js';
import * as createTables from '../../../migrations/20261122000000_create_tables.js';
import * as createIdempotencyKeys from '../../../migrations/20261122000100_create_idempotency_keys.js';
import * as createReindexEmbeddings from '../../../migrations/20261122000200_create_reindex_embeddings.js';
import * as createJobs from '../../../migrations/20261201000000_create_jobs.js';
import * as createLogCompaction from '../../../migrations/20261201000050_create_log_compaction.js';
import { createChunkTermsMigration } from '../../../migrations/20261210000000_create_chunk_terms.js';
import * as createCollections from '../../../migrations/20261215000000_create_collections.js';
import * as createApiKeys from '../../../migrations/20261220000000_create_api_keys.js';
import * as createCollectionGenerations from '../../../migrations/20261221000000_create_collection_generations.js';
import * as addDocumentSeq from '../../../migrations/20261223000000_add_document_seq.js';
import * as createAnswerSources from '../../../migrations/20261224000000_create_answer_sources.js';
import * as createPayloadIndexes from '../../../migrations/20261226000000_create_payload_indexes.js';
import { createScopeChunkTermsMigration } from '../../../migrations/20261228000000_scope_chunk_terms.js';
import { rewriteLexicalEntries, writeLexicalEntries } from './lexical-repo.js';

const migrations: Record<string, Knex.Migration> = {
  '20261122000000_create_tables': createTables,
  '20261122000100_create_idempotency_keys': createIdempotencyKeys,
  '20261122000200_create_reindex_embeddings': createReindexEmbeddings,
  '20261201000000_create_jobs': createJobs,
  '20261201000050_create_log_compaction': createLogCompaction,
  '20261210000000_create_chunk_terms': createChunkTermsMigration(writeLexicalEntries),
  '20261215000000_create_collections': createCollections,
  '20261220000000_create_api_keys': createApiKeys,
  '20261221000000_create_collection_generations': createCollectionGenerations,
  '20261223000000_add_document_seq': addDocumentSeq,
  '20261224000000_create_answer_sources': createAnswerSources,
  '20261226000000_create_payload_indexes': createPayloadIndexes,
  '20261228000000_scope_chunk_terms': createScopeChunkTermsMigration(rewriteLexicalEntries),
};

const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = migrations[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return migration;
  },
};

const MIGRATE_DEADLINE_MS = 60_000;
const LOCK_TABLE = 'knex_migrations_lock';

export async function migrateLatest(db: Knex, logger: Logger): Promise<void> {
  const deadline = Date.now() + MIGRATE_DEADLINE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
      if (applied.length > 0) logger.info('migrations applied', { applied });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      logger.debug('migration lock busy, retrying', { attempt, err: serializeError(err) });
      if (await repairDuplicateLockRows(db)) logger.warn('knex migration lock had duplicate rows; repaired');
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)));
    }
  }
}

/** Leaves one free lock row when a start-up race left several (none of which can ever be taken). */
export async function repairDuplicateLockRows(db: Knex): Promise<boolean> {
  if (!(await db.schema.hasTable(LOCK_TABLE))) return false;
  return db.transaction(async (trx) => {
    const rows: Array<{ is_locked: number }> = await trx(LOCK_TABLE).select('is_locked');
    if (rows.length <= 1) return false;
    await trx(LOCK_TABLE).delete();
    await trx(LOCK_TABLE).insert({ is_locked: 0 });
    return true;
  });
}
