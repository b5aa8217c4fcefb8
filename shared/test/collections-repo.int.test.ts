/**
 * collections-repo on real databases: SQLite (a temp file) and, when TEST_DATABASE_URL is set,
 * Postgres (a private schema). A document written into a collection that is being deleted is a 404,
 * and on Postgres a deletion that starts while a write holds the collection waits for it, so the
 * purge sees (and removes) what that write stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { countCollectionContents, createCollection, markCollectionDeleting } from '../src/db/collections-repo.js';
import { upsertPendingDocument } from '../src/db/documents-repo.js';
import { NotFoundError } from '../src/errors.js';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from './test-database.js';

for (const backend of DATABASE_BACKENDS) {
  describe(`collections-repo on ${backend}`, () => {
    let db: Knex;
    let database: TestDatabase | undefined;
    const newCollection = async (id: string) => {
      assert.ok(await createCollection(db, { id, title: null, embedder: 'builtin', metadata: {} }));
    };
    const post = (trx: Knex, collection: string, id: string) => upsertPendingDocument(trx, { collection, id, text: `text of ${id}`, requestId: 'test' });

    before(async () => {
      database = await openTestDatabase(backend, 'colmeia-collections-repo-');
      db = database.db;
    });
    after(async () => {
      await database?.close();
    });

    it('refuses a document in an unknown collection or one being deleted with a 404 naming it', async () => {
      await newCollection('going');
      await db.transaction((trx) => post(trx, 'going', 'kept'));
      assert.equal(await db.transaction((trx) => markCollectionDeleting(trx, 'going')), true);
      await assert.rejects(
        db.transaction((trx) => post(trx, 'going', 'late')),
        (err) => err instanceof NotFoundError && /collection going not found/.test(err.message),
      );
      await assert.rejects(
        db.transaction((trx) => post(trx, 'never-made', 'x')),
        (err) => err instanceof NotFoundError,
      );
      assert.equal((await countCollectionContents(db, 'going')).documents, 1);
    });

    it(
      'makes a deletion that starts during a write wait until the write is committed',
      { skip: backend === 'sqlite' && 'SQLite write transactions are serial' },
      async () => {
        await newCollection('raced');
        let release = (): void => {};
        const held = new Promise<void>((resolve) => (release = resolve));
        let written = (): void => {};
        const isWritten = new Promise<void>((resolve) => (written = resolve));
        const write = db.transaction(async (trx) => {
          await post(trx, 'raced', 'in-flight');
          written();
          await held;
        });
        await isWritten;
        let isDeletionDone = false;
        const deletion = db.transaction((trx) => markCollectionDeleting(trx, 'raced')).finally(() => (isDeletionDone = true));
        await new Promise((resolve) => setTimeout(resolve, 300));
        const isWaiting = !isDeletionDone;
        release();
        await write;
        assert.equal(isWaiting, true, 'the deletion waited for the write holding the collection');
        assert.equal(await deletion, true);
        assert.equal((await countCollectionContents(db, 'raced')).documents, 1, 'the purge that follows sees the write');
      },
    );
  });
}
