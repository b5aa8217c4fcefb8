/**
 * The multi-document writes of a batch on real databases: SQLite (a temp file) and, when
 * TEST_DATABASE_URL is set, Postgres (a private schema). upsertPendingDocuments gives each document
 * its next revision in input order; claimRevisionsForIndexing claims only the revisions still
 * current; replaceChunksOfDocuments commits several documents at once with the same outcome, chunk
 * rows, log rows, lexical entries and staged vectors as one commit per document would make, and
 * supersedes alone a document re-posted meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { decodeEmbedding } from '../src/db/columns.js';
import { claimRevisionsForIndexing, findDocument, hashContent, upsertPendingDocuments } from '../src/db/documents-repo.js';
import { latestSeq, readLogAfter, replaceChunksOfDocuments } from '../src/db/chunks-repo.js';
import { searchLexical } from '../src/db/lexical-repo.js';
import { startGeneration } from '../src/db/generations-repo.js';
import { logWriteTransaction } from '../src/db/write-transaction.js';
import { DEFAULT_COLLECTION } from '../src/input.js';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from './test-database.js';

const post = (db: Knex, texts: Record<string, string>) =>
  db.transaction((trx) =>
    upsertPendingDocuments(
      trx,
      DEFAULT_COLLECTION,
      Object.entries(texts).map(([id, text]) => ({ id, text, requestId: 'test' })),
    ),
  );

const chunksOf = (texts: string[], start: number) => texts.map((text, i) => ({ text, embedding: [start + i, 1, 0], span: { start: i, end: i + 1 } }));

for (const backend of DATABASE_BACKENDS) {
  describe(`batch writes on ${backend}`, () => {
    let db: Knex;
    let database: TestDatabase | undefined;

    before(async () => {
      database = await openTestDatabase(backend, 'colmeia-batch-writes-');
      db = database.db;
    });
    after(async () => {
      await database?.close();
    });

    it('gives every document of a batch its next revision, in input order, new and existing alike', async () => {
      assert.deepEqual(
        (await post(db, { b: 'bee', a: 'ant' })).map((d) => [d.id, d.revision, d.status]),
        [
          ['b', 1, 'pending'],
          ['a', 1, 'pending'],
        ],
      );
      const again = await post(db, { c: 'cicada', a: 'ant again', b: 'bee again' });
      assert.deepEqual(
        again.map((d) => [d.id, d.revision]),
        [
          ['c', 1],
          ['a', 2],
          ['b', 2],
        ],
      );
      const a = await findDocument(db, 'a');
      assert.equal(a?.contentHash, hashContent('ant again'));
      assert.equal(a?.status, 'pending');
    });

    it('claims only the revisions still current and returns their content', async () => {
      const claimed = await claimRevisionsForIndexing(db, DEFAULT_COLLECTION, [
        { documentId: 'a', revision: 2 },
        { documentId: 'b', revision: 1 }, // re-posted since: revision 2 is current
        { documentId: 'gone', revision: 1 },
      ]);
      assert.deepEqual([...claimed.keys()], ['a']);
      assert.equal(claimed.get('a')?.content, 'ant again');
      assert.equal((await findDocument(db, 'a'))?.status, 'indexing');
      assert.equal((await findDocument(db, 'b'))?.status, 'pending');
    });

    it('commits several documents at once and supersedes alone the one re-posted meanwhile', async () => {
      const before = await latestSeq(db, DEFAULT_COLLECTION);
      const batch = (docs: Array<{ id: string; revision: number; text: string; chunks: string[]; start: number }>) =>
        logWriteTransaction(db, (trx) =>
          replaceChunksOfDocuments(trx, {
            documents: docs.map((d) => ({
              documentId: d.id,
              revision: d.revision,
              contentHash: hashContent(d.text),
              chunks: chunksOf(d.chunks, d.start),
            })),
          }),
        );
      const first = await batch([
        { id: 'a', revision: 2, text: 'ant again', chunks: ['ant one', 'ant two'], start: 0 },
        { id: 'b', revision: 1, text: 'bee', chunks: ['bee stale'], start: 2 }, // revision 2 is current
        { id: 'c', revision: 1, text: 'cicada', chunks: ['cicada'], start: 3 },
      ]);
      const seq = await latestSeq(db, DEFAULT_COLLECTION);
      assert.deepEqual(first, [
        { status: 'replaced', chunks: 2, removed: 0, seq },
        { status: 'superseded' },
        { status: 'replaced', chunks: 1, removed: 0, seq },
      ]);
      assert.equal(seq, before + 3, 'one add row per chunk written');
      const a = await findDocument(db, 'a');
      assert.deepEqual([a?.status, a?.chunkCount, a?.indexedHash, a?.seq], ['ready', 2, hashContent('ant again'), seq]);
      const c = await findDocument(db, 'c');
      assert.deepEqual([c?.status, c?.chunkCount, c?.indexedHash], ['ready', 1, hashContent('cicada')]);
      assert.equal((await findDocument(db, 'b'))?.status, 'pending');
      const rows = (await db('chunks').select('document_id', 'ordinal', 'text', 'char_start', 'embedding').orderBy('id')) as Array<{
        document_id: string;
        ordinal: number;
        text: string;
        char_start: number;
        embedding: Uint8Array;
      }>;
      assert.deepEqual(
        rows.map((r) => [r.document_id, r.ordinal, r.text, r.char_start, decodeEmbedding(r.embedding)[0]]),
        [
          ['a', 0, 'ant one', 0, 0],
          ['a', 1, 'ant two', 1, 1],
          ['c', 0, 'cicada', 0, 3],
        ],
      );
      assert.deepEqual((await searchLexical(db, 'cicada', 5)).length, 1);

      const second = await batch([{ id: 'a', revision: 2, text: 'ant again', chunks: ['ant three'], start: 5 }]);
      assert.deepEqual(second, [{ status: 'replaced', chunks: 1, removed: 2, seq: await latestSeq(db, DEFAULT_COLLECTION) }]);
      const log = await readLogAfter(db, seq, 10);
      assert.deepEqual(
        log.map((entry) => entry.op),
        ['delete', 'delete', 'add'],
      );
      assert.deepEqual(log.at(-1)?.embedding?.slice(0, 2), [5, 1]);
    });

    it('stages each chunk’s vector of the generation being built next to it', async () => {
      const started = await db.transaction((trx) => startGeneration(trx, DEFAULT_COLLECTION, 'builtin'));
      assert.ok(started && 'generation' in started);
      await post(db, { d: 'dragonfly', e: 'earwig' });
      const docs = [
        { documentId: 'd', revision: 1, contentHash: hashContent('dragonfly'), chunks: chunksOf(['dragon', 'fly'], 10) },
        { documentId: 'e', revision: 1, contentHash: hashContent('earwig'), chunks: chunksOf(['earwig'], 20) },
      ];
      const staged = { generation: started.generation, embeddings: [[110], [111], [120]] };
      const outcomes = await logWriteTransaction(db, (trx) => replaceChunksOfDocuments(trx, { generation: 1, staged, documents: docs }));
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['replaced', 'replaced'],
      );
      const rows = (await db('generation_embeddings as g')
        .join('chunks as c', 'c.id', 'g.chunk_id')
        .where('g.generation', started.generation)
        .select('c.text', 'g.embedding')
        .orderBy('c.id')) as Array<{ text: string; embedding: Uint8Array }>;
      assert.deepEqual(
        rows.map((r) => [r.text, decodeEmbedding(r.embedding)[0]]),
        [
          ['dragon', 110],
          ['fly', 111],
          ['earwig', 120],
        ],
      );
    });
  });
}
