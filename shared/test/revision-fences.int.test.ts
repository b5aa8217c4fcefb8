/**
 * The revision fences of chunks-repo and removals-repo against a concurrent POST on Postgres (a
 * private schema; skipped without TEST_DATABASE_URL), whose READ COMMITTED lets a row change between
 * a transaction's check and its write. An ingest of revision 1 commits while the POST of revision 2
 * is in flight: its transaction waits for the POST and then sees that it was superseded, so revision
 * 2 is never marked ready with revision 1's chunks (the chaos matrix saw that: a document `ready`
 * whose chunks held the previous text, so a search for its own words never found it). Likewise a
 * removal acknowledged for revision 1 does not delete revision 2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { openDatabase } from '../src/db/connection.js';
import { findDocument, hashContent, upsertPendingDocument } from '../src/db/documents-repo.js';
import { refreshDocumentChunks, replaceDocumentChunks } from '../src/db/chunks-repo.js';
import { recordRemovalTargets, removeRecordedTargets } from '../src/db/removals-repo.js';
import { createPostgresSchema, type PostgresSchema } from '../../test/support/postgres-schema.js';

const DATABASE_URL = process.env['TEST_DATABASE_URL'];
const WAIT_MS = 10_000;

describe('revision fences on postgres, with a newer revision posted during the commit', { skip: DATABASE_URL ? false : 'TEST_DATABASE_URL is not set' }, () => {
  let db: Knex;
  let dataDir: string;
  let schema: PostgresSchema;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'colmeia-chunks-repo-'));
    schema = await createPostgresSchema(DATABASE_URL ?? '');
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', DATA_DIR: dataDir, DATABASE_URL: schema.url });
    db = await openDatabase(config, createLogger(config, 'test'));
  });
  after(async () => {
    await db.destroy();
    await schema.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('does not mark the newer revision ready with the older revision’s chunks', async () => {
    const first = await db.transaction((trx) => upsertPendingDocument(trx, { id: 'race-1', text: 'first text', requestId: 'r1' }));
    const outcome = await whilePostInFlight('race-1', 'second text', () =>
      replaceDocumentChunks(db, {
        documentId: 'race-1',
        revision: first.revision,
        contentHash: hashContent('first text'),
        chunks: [{ text: 'first text', embedding: [1, 0, 0] }],
      }),
    );
    assert.deepEqual(outcome, { status: 'superseded' });
    const doc = await findDocument(db, 'race-1');
    assert.equal(doc?.revision, first.revision + 1);
    assert.equal(doc?.status, 'pending', 'the second revision waits for its own ingest');
    assert.deepEqual(await db('chunks').where({ document_id: 'race-1' }).select('text'), []);
  });

  it('does not mark the newer revision ready when the older one only refreshes its metadata', async () => {
    const first = await db.transaction((trx) => upsertPendingDocument(trx, { id: 'race-2', text: 'same text', requestId: 'r1' }));
    const outcome = await whilePostInFlight('race-2', 'other text', () => refreshDocumentChunks(db, { documentId: 'race-2', revision: first.revision }));
    assert.deepEqual(outcome, { status: 'superseded' });
    assert.equal((await findDocument(db, 'race-2'))?.status, 'pending');
  });

  it('does not delete the newer revision when a removal acknowledged for the older one runs', async () => {
    await db.transaction((trx) => upsertPendingDocument(trx, { id: 'race-3', text: 'first text', requestId: 'r1' }));
    assert.equal(await db.transaction((trx) => recordRemovalTargets(trx, 'remove:race-3', { documentId: 'race-3' })), 1);
    const counts = await whilePostInFlight('race-3', 'second text', () => removeRecordedTargets(db, 'remove:race-3', false, async () => undefined));
    assert.deepEqual(counts, { documents: 0, chunks: 0, seq: 0 });
    assert.equal((await findDocument(db, 'race-3'))?.status, 'pending', 'the second revision stays');
  });

  /**
   * Runs `commit` while a POST of `text` for `id` has written its row but not committed: once the
   * commit waits for that transaction (or is over), the POST commits; returns the commit's outcome.
   */
  async function whilePostInFlight<T>(id: string, text: string, commit: () => Promise<T>): Promise<T> {
    const post = await db.transaction();
    try {
      await upsertPendingDocument(post, { id, text, requestId: 'r2' });
      const { rows } = await post.raw<{ rows: Array<{ pid: number }> }>('select pg_backend_pid() as pid');
      const postPid = rows[0]?.pid;
      const committing = commit();
      const settled = committing.then(
        () => true,
        () => true,
      );
      const deadline = Date.now() + WAIT_MS;
      while (!(await isBlockedBy(postPid)) && !(await Promise.race([settled, delay(20, false)]))) {
        assert.ok(Date.now() < deadline, 'the commit neither waited for the POST nor ended');
      }
      await post.commit();
      return await committing;
    } finally {
      if (!post.isCompleted()) await post.rollback();
    }
  }

  async function isBlockedBy(pid: number | undefined): Promise<boolean> {
    const sql = 'select count(*)::int as n from pg_stat_activity where ? = any(pg_blocking_pids(pid))';
    const { rows } = await db.raw<{ rows: Array<{ n: number }> }>(sql, [pid ?? 0]);
    return (rows[0]?.n ?? 0) > 0;
  }
});
