import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { openDatabase } from '../src/db/connection.js';
import { migrateLatest } from '../src/db/migrate.js';

describe('migrations', () => {
  it("still run when a start-up race left two rows in knex's lock table", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'colmeia-migrate-'));
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', DATA_DIR: dataDir });
    const logger = createLogger(config, 'test');
    const db = await openDatabase(config, logger);
    try {
      await db.schema.dropTableIfExists('documents');
      await db('knex_migrations').delete();
      await db('knex_migrations_lock').insert({ is_locked: 0 }); // the race's second row
      for (const table of [
        'chunk_terms',
        'jobs',
        'removal_targets',
        'document_revisions',
        'log_compaction',
        'job_outcomes',
        'answer_sources',
        'chat_messages',
        'chat_sessions',
        'index_meta',
        'vector_log',
        'chunks',
        'idempotency_keys',
        'generation_embeddings',
        'collection_generations',
        'collections',
        'api_keys',
        'payload_indexes',
      ]) {
        await db.schema.dropTableIfExists(table);
      }
      await migrateLatest(db, logger);
      assert.ok(await db.schema.hasTable('documents'));
      assert.equal(((await db('knex_migrations_lock').select('is_locked')) as unknown[]).length, 1);
    } finally {
      await db.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
