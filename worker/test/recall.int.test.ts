import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { replaceDocumentChunks, MAX_CHUNK_ID } from '../../shared/src/db/chunks-repo.js';
import { openIndexFixture, type IndexFixture } from './index-fixture.js';
import { lowRankVectors } from '../../test/support/low-rank-vectors.js';

function exactTop(query: number[], vectors: number[][], ids: number[], k: number): number[] {
  const scored = vectors.map((v, i) => {
    let score = 0;
    for (let d = 0; d < v.length; d++) score += (v[d] ?? 0) * (query[d] ?? 0);
    return { id: ids[i] ?? -1, score };
  });
  scored.sort((a, b) => b.score - a.score);
  return scored.slice(0, k).map((s) => s.id);
}

describe('VectorIndex quality at default settings', () => {
  let fx: IndexFixture;
  before(async () => {
    fx = await openIndexFixture('sqlite');
  });
  after(async () => {
    await fx.close();
  });

  it('reaches recall@10 of at least 0.98 against exact search on 20k low-rank vectors', async () => {
    const dimension = fx.embedder.dimension;
    const vectors = lowRankVectors(20_000, dimension, 7);
    const saved = await upsertPendingDocument(fx.db, { id: 'synthetic', text: 'synthetic vectors', requestId: 'test' });
    await replaceDocumentChunks(fx.db, {
      documentId: 'synthetic',
      revision: saved.revision,
      contentHash: 'synthetic',
      chunks: vectors.map((embedding, i) => ({ text: `v${i}`, embedding })),
    });
    const ids = ((await fx.db('chunks').select('id').orderBy('ordinal')) as Array<{ id: number }>).map((r) => r.id);
    const index = await fx.openIndex();
    const queries = lowRankVectors(200, dimension, 99); // same basis, new points
    let found = 0;
    for (const query of queries) {
      const truth = new Set(exactTop(query, vectors, ids, 10));
      found += index.search(query, 10).filter((hit) => truth.has(hit.chunkId)).length;
    }
    const recall = found / (queries.length * 10);
    process.stdout.write(`figure: recall_at_10=${recall.toFixed(4)} n=20000 ef=${fx.config.HNSW_EF_SEARCH}\n`);
    assert.ok(recall >= 0.98, `recall@10 ${recall}`);
  });

  it('refuses a chunk id above the largest HNSW label and leaves chunk 5 untouched', async (t) => {
    const isSqlite = fx.config.DATABASE_URL === undefined;
    if (!isSqlite) return t.skip('sets the SQLite sequence');
    const saved = await upsertPendingDocument(fx.db, { id: 'huge-id', text: 'a chunk with a huge id', requestId: 'test' });
    const chunkFive = (await fx.db('chunks').select('embedding').where({ id: 5 }).first()) as { embedding: Buffer };
    await fx
      .db('sqlite_sequence')
      .where({ name: 'chunks' })
      .update({ seq: MAX_CHUNK_ID + 5 });
    const [vector] = await fx.embedder.embed(['a chunk with a huge id']);
    await assert.rejects(
      replaceDocumentChunks(fx.db, {
        documentId: 'huge-id',
        revision: saved.revision,
        contentHash: 'x',
        chunks: [{ text: 'x', embedding: vector ?? [] }],
      }),
      /exceeds/,
    );
    const after = (await fx.db('chunks').select('embedding').where({ id: 5 }).first()) as { embedding: Buffer };
    assert.deepEqual(after.embedding, chunkFive.embedding);
    assert.equal(((await fx.db('chunks').where({ document_id: 'huge-id' }).count({ n: '*' }).first()) as { n: number }).n, 0);
  });
});
