import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashContent, upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { replaceDocumentChunks } from '../../shared/src/db/chunks-repo.js';
import { ExactScan } from '../src/vectors/exact-scan.js';
import { BACKENDS, openIndexFixture, type IndexFixture } from './index-fixture.js';

const DIMENSION = 384;
const DOCUMENTS = 6;
const CHUNKS_PER_DOCUMENT = 150;

/** mulberry32: a seeded PRNG, so a failure replays. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Low-rank vectors (x = W·z + 0.2·g, z of dimension 8): many close scores, the hard case for ranking by approximation. */
function lowRankVectors(count: number, next: () => number): number[][] {
  const gaussian = () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  const basis = Array.from({ length: 8 }, () => Array.from({ length: DIMENSION }, gaussian));
  return Array.from({ length: count }, () => {
    const z = basis.map(() => gaussian());
    return Array.from({ length: DIMENSION }, (_, i) => basis.reduce((sum, row, j) => sum + (row[i] ?? 0) * (z[j] ?? 0), 0) + 0.2 * gaussian());
  });
}

/** The reference: every member scored from its float32 embedding, best first, ties to the lower chunk id. */
function bruteForceTop(
  query: number[],
  k: number,
  ids: readonly number[],
  embeddings: ReadonlyMap<number, number[]>,
): Array<{ chunkId: number; score: number }> {
  const norm = Math.sqrt(query.reduce((sum, value) => sum + value * value, 0));
  const unit = Float32Array.from(query, (value) => value / norm);
  const scored = ids.map((chunkId) => {
    const stored = Float32Array.from(embeddings.get(chunkId) ?? []);
    let dotProduct = 0;
    let storedNorm = 0;
    stored.forEach((value, i) => {
      dotProduct += (unit[i] ?? 0) * value;
      storedNorm += value * value;
    });
    return { chunkId, score: storedNorm > 0 ? dotProduct / Math.sqrt(storedNorm) : 0 };
  });
  return scored.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId).slice(0, k);
}

async function seedVectors(fx: IndexFixture, vectors: number[][]): Promise<Map<number, number[]>> {
  for (let d = 0; d < DOCUMENTS; d++) {
    const id = `doc-${d}`;
    const saved = await upsertPendingDocument(fx.db, { id, text: id, metadata: {}, requestId: 'test' });
    const slice = vectors.slice(d * CHUNKS_PER_DOCUMENT, (d + 1) * CHUNKS_PER_DOCUMENT);
    const chunks = slice.map((embedding, i) => ({ text: `${id} chunk ${i}`, embedding }));
    await replaceDocumentChunks(fx.db, { documentId: id, revision: saved.revision, contentHash: hashContent(id), chunks });
  }
  const rows = (await fx.db('chunks').select('id').orderBy('id')) as Array<{ id: number }>;
  return new Map(rows.map((row, i) => [row.id, Array.from(Float32Array.from(vectors[i] ?? []))]));
}

for (const backend of BACKENDS) {
  describe(`exact filtered scan against a float32 brute force (${backend})`, () => {
    let fx: IndexFixture;
    let embeddings: Map<number, number[]>;
    let chunkIds: number[];
    const next = random(20_261_201);

    before(async () => {
      fx = await openIndexFixture(backend);
      const vectors = lowRankVectors(DOCUMENTS * CHUNKS_PER_DOCUMENT, next);
      for (let i = 0; i < 40; i++) vectors[i * 20 + 1] = [...(vectors[i * 20] ?? [])]; // exact ties: equal vectors under two chunk ids
      embeddings = await seedVectors(fx, vectors);
      chunkIds = [...embeddings.keys()];
    });
    after(async () => {
      await fx.close();
    });

    const sampleIds = (size: number) => chunkIds.filter(() => next() < size / chunkIds.length);
    const queryNear = (id: number) => (embeddings.get(id) ?? []).map((value) => value + 0.5 * (next() - 0.5));

    it('returns the same top k, scores and tie order, from copies and from on-demand reads', async () => {
      const copied = new ExactScan(fx.db);
      await copied.copyFromDatabase(() => true);
      const onDemand = new ExactScan(fx.db); // nothing copied: every member is read from SQL on first use
      for (let round = 0; round < 120; round++) {
        const ids = sampleIds([5, 40, 200, 600, 900][round % 5] ?? 40);
        const k = 1 + Math.floor(next() * 25);
        const query = queryNear(chunkIds[Math.floor(next() * chunkIds.length)] ?? 0);
        const expected = bruteForceTop(query, k, ids, embeddings);
        assert.deepEqual(await copied.top(query, k, ids, () => true), expected, `round ${round}, ${ids.length} ids, k ${k}`);
        assert.deepEqual(await onDemand.top(query, k, ids, () => true), expected, `round ${round} on demand`);
      }
    });

    it('leaves out dropped labels, and ties go to the lower chunk id', async () => {
      const scan = new ExactScan(fx.db);
      await scan.copyFromDatabase(() => true);
      const dropped = new Set(chunkIds.filter((_, i) => i % 3 === 0));
      for (const label of dropped) scan.drop(label);
      const live = chunkIds.filter((id) => !dropped.has(id));
      const twin = chunkIds[20] ?? 0; // chunkIds[21] holds the same vector and is dropped; [40] and [41] are both live
      const query = embeddings.get(chunkIds[40] ?? 0) ?? [];
      const hits = await scan.top(query, 5, live, (label) => !dropped.has(label));
      assert.deepEqual(hits, bruteForceTop(query, 5, live, embeddings));
      assert.deepEqual(
        hits.slice(0, 2).map((hit) => hit.chunkId),
        [chunkIds[40], chunkIds[41]],
      );
      assert.ok(!hits.some((hit) => dropped.has(hit.chunkId)));
      const twinHits = await scan.top(embeddings.get(twin) ?? [], 1, live, (label) => !dropped.has(label));
      assert.equal(twinHits[0]?.chunkId, twin);
    });
  });
}
