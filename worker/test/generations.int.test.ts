/**
 * Reindex generations in the repo layer and in a worker's indexes, on SQLite and Postgres: ingest
 * commits are fenced on the generation their vectors were made for, a commit during a build stages
 * its vectors of the generation being built, the swap replaces every chunk's embedding with its own
 * staged vector in one transaction, and CollectionIndexes serves the new generation (another
 * dimension) after it without a restart, leaving other collections untouched.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashContent, upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { replaceDocumentChunks, type CommitGenerations } from '../../shared/src/db/chunks-repo.js';
import { createCollection } from '../../shared/src/db/collections-repo.js';
import { decodeEmbedding } from '../../shared/src/db/columns.js';
import {
  abandonGeneration,
  GenerationChangedError,
  readCollectionGenerations,
  readUnstagedChunks,
  stageEmbeddings,
  startGeneration,
  swapGeneration,
} from '../../shared/src/db/generations-repo.js';
import { claimIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { createBuiltinEmbedder } from '../src/embedders/builtin.js';
import { EmbedderRegistry } from '../src/embedders/embedder-registry.js';
import { createConcurrencyLimit } from '../src/ollama/concurrency-limit.js';
import { CollectionIndexes } from '../src/vectors/collection-indexes.js';
import { BACKENDS, openIndexFixture, type IndexFixture } from './index-fixture.js';

const OLD = createBuiltinEmbedder(384);
const NEW = createBuiltinEmbedder(128);

async function commit(fx: IndexFixture, collection: string, id: string, generations: CommitGenerations): Promise<void> {
  const text = `note ${id} about ${id}wax`;
  const saved = await upsertPendingDocument(fx.db, { collection, id, text, requestId: 'test' });
  const [embedding = []] = await OLD.embed([text]);
  await replaceDocumentChunks(fx.db, {
    collection,
    documentId: id,
    revision: saved.revision,
    contentHash: hashContent(text),
    chunks: [{ text, embedding }],
    ...generations,
  });
}

async function stagedFor(fx: IndexFixture, collection: string, texts: string[]): Promise<number[][]> {
  void fx;
  void collection;
  return NEW.embed(texts);
}

for (const backend of BACKENDS) {
  describe(`collection generations on ${backend}`, () => {
    const fixtures: IndexFixture[] = [];
    after(async () => {
      for (const fx of fixtures) await fx.close();
    });

    it('fences commits on the generation, stages commits made during a build, and swaps every chunk to its own new vector', async () => {
      const fx = await openIndexFixture(backend);
      fixtures.push(fx);
      await createCollection(fx.db, { id: 'c', title: null, embedder: 'builtin', metadata: {} });
      await commit(fx, 'c', 'a', { generation: 1 });
      const started = await startGeneration(fx.db, 'c', 'builtin:128');
      assert.deepEqual(started, { generation: 2 });
      assert.deepEqual(await startGeneration(fx.db, 'c', 'builtin:128'), { busy: 2 }, 'one build at a time');
      await assert.rejects(commit(fx, 'c', 'b', { generation: 1 }), GenerationChangedError, 'a commit without vectors of the generation being built');
      const [bVector = []] = await stagedFor(fx, 'c', ['note b about bwax']);
      await commit(fx, 'c', 'b', { generation: 1, staged: { generation: 2, embeddings: [bVector] } });
      const unstaged = await readUnstagedChunks(fx.db, 'c', 2, 0, 10);
      assert.deepEqual(
        unstaged.map((chunk) => chunk.text),
        ['note a about awax'],
        "b's vector was staged by its commit",
      );
      await commit(fx, 'default', 'elsewhere', { generation: 1 }); // another collection is not fenced by c's build

      const swapped = await swapGeneration(fx.db, { collection: 'c', generation: 2 }, (chunks) => NEW.embed(chunks.map((chunk) => chunk.text)));
      assert.deepEqual(swapped, { status: 'swapped', chunks: 2 });
      const rows: Array<{ text: string; embedding: Uint8Array; generation: number }> = await fx
        .db('chunks')
        .where({ collection_id: 'c' })
        .select('text', 'embedding', 'generation');
      for (const row of rows) {
        const [expected = []] = await NEW.embed([row.text]);
        const stored = decodeEmbedding(row.embedding);
        assert.equal(stored.length, 128);
        assert.ok(Math.abs(stored.reduce((sum, v, i) => sum + v * (expected[i] ?? 0), 0) - 1) < 1e-4, `${row.text} carries its own new vector`);
        assert.equal(Number(row.generation), 2);
      }
      const state = await readCollectionGenerations(fx.db, 'c');
      assert.deepEqual([state?.current.generation, state?.current.embedder, state?.building], [2, 'builtin:128', null]);
      assert.equal(Number(((await fx.db('generation_embeddings').count({ n: '*' }).first()) as { n: number | string }).n), 0);
      await assert.rejects(commit(fx, 'c', 'late', { generation: 1 }), GenerationChangedError, 'vectors of the old generation after the swap');
      assert.deepEqual(await swapGeneration(fx.db, { collection: 'c', generation: 2 }, async () => []), { status: 'superseded' });
      const swaps = await fx.db('vector_log').where({ collection_id: 'c', op: 'swap' }).count({ n: '*' }).first();
      assert.equal(Number((swaps as { n: number | string }).n), 1);
    });

    it('abandons a build: the collection stays on its generation and the staged vectors go', async () => {
      const fx = await openIndexFixture(backend);
      fixtures.push(fx);
      await createCollection(fx.db, { id: 'c', title: null, embedder: 'builtin', metadata: {} });
      await commit(fx, 'c', 'a', { generation: 1 });
      await startGeneration(fx.db, 'c', 'builtin:128');
      const [chunk] = await readUnstagedChunks(fx.db, 'c', 2, 0, 10);
      await stageEmbeddings(fx.db, 'c', 2, [{ id: chunk?.id ?? 0, embedding: (await NEW.embed(['x']))[0] ?? [] }]);
      await abandonGeneration(fx.db, 'c', 2);
      const state = await readCollectionGenerations(fx.db, 'c');
      assert.deepEqual([state?.current.generation, state?.building], [1, null]);
      assert.equal(Number(((await fx.db('generation_embeddings').count({ n: '*' }).first()) as { n: number | string }).n), 0);
      await commit(fx, 'c', 'b', { generation: 1 }); // accepted again without staged vectors
      assert.deepEqual(await startGeneration(fx.db, 'c', 'builtin:128'), { generation: 3 }, 'a later build takes the next number');
    });

    it("serves the new generation's dimension after the swap without a restart, and leaves other collections alone", async () => {
      const fx = await openIndexFixture(backend);
      fixtures.push(fx);
      await createCollection(fx.db, { id: 'c', title: null, embedder: 'builtin', metadata: {} });
      for (const id of ['a', 'b', 'd']) await commit(fx, 'c', id, { generation: 1 });
      await commit(fx, 'default', 'other', { generation: 1 });
      const meta = await claimIndexMeta(fx.db, 'test', 0);
      const indexes = await CollectionIndexes.load(
        fx.config,
        fx.db,
        new EmbedderRegistry(fx.config, fx.logger, createConcurrencyLimit(1)),
        meta.instanceId,
        fx.logger,
      );
      try {
        const before = await indexes.serving('c');
        assert.equal(before.embedder.dimension, 384);
        const defaultIndex = await indexes.synced('default');
        await startGeneration(fx.db, 'c', 'builtin:128');
        await swapGeneration(fx.db, { collection: 'c', generation: 2 }, (chunks) => NEW.embed(chunks.map((chunk) => chunk.text)));
        const after = await indexes.serving('c');
        assert.equal(after.embedder.dimension, 128);
        assert.equal(after.index.size, 3);
        const [query = []] = await after.embedder.embed(['bwax']);
        const [top] = after.index.search(query, 1);
        const row: { document_id: string } | undefined = await fx
          .db('chunks')
          .where({ id: top?.chunkId ?? 0 })
          .first('document_id');
        assert.equal(row?.document_id, 'b');
        assert.equal(await indexes.synced('default'), defaultIndex, 'the other collection keeps its index');
        assert.deepEqual([indexes.stats()['c']?.generation, indexes.stats()['c']?.embedder, indexes.stats()['c']?.status], [2, NEW.id, 'ready']);
      } finally {
        await indexes.close();
      }
    });
  });
}
