/** statement-cache.ts on a real SQLite file: one prepare per text, results as before, schema changes and eviction. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { openDatabase } from '../src/db/connection.js';
import { cacheStatements, type PreparingConnection } from '../src/db/statement-cache.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => PreparingConnection & { close(): void };

describe('statement cache', () => {
  it('hands knex the statement it prepared before, and the rows are the same', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'colmeia-statements-'));
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', DATA_DIR: dataDir });
    const db = await openDatabase(config, createLogger(config, 'test'), { migrate: false });
    try {
      await db.schema.createTable('notes', (t) => {
        t.increments('id');
        t.string('text');
      });
      await db('notes').insert([{ text: 'one' }, { text: 'two' }]);
      const pool = db.client as { acquireConnection(): Promise<PreparingConnection>; releaseConnection(c: unknown): Promise<unknown> };
      const connection = await pool.acquireConnection();
      await pool.releaseConnection(connection);
      const sql = 'select text from notes where id = ?';
      assert.equal(connection.prepare(sql), connection.prepare(sql), 'one statement per text');
      assert.deepEqual(await db('notes').where({ id: 2 }).select('text'), [{ text: 'two' }]);
      assert.deepEqual(await db('notes').where({ id: 1 }).select('text'), [{ text: 'one' }], 'the same text, other bindings');
      await db.schema.alterTable('notes', (t) => t.string('tag').defaultTo('none'));
      assert.deepEqual(await db('notes').where({ id: 1 }).select('*'), [{ id: 1, text: 'one', tag: 'none' }], 'a schema change is seen');
      await db.transaction(async (trx) => {
        await trx('notes').insert({ text: 'three' });
      });
      assert.equal((await db('notes').count({ n: '*' }))[0]?.n, 3, 'BEGIN and COMMIT statements run again');
    } finally {
      await db.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps at most `capacity` texts, dropping the least recently used', () => {
    const connection = new Database(':memory:');
    try {
      cacheStatements(connection, 2);
      const a = connection.prepare('select 1');
      const b = connection.prepare('select 2');
      assert.equal(connection.prepare('select 1'), a, 'select 1 used again: now the most recent');
      connection.prepare('select 3'); // evicts select 2
      assert.equal(connection.prepare('select 1'), a);
      assert.notEqual(connection.prepare('select 2'), b, 'select 2 was dropped and is prepared anew');
    } finally {
      connection.close();
    }
  });
});
