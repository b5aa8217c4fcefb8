import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chunkIdsMatching } from '../../shared/src/db/chunks-repo.js';
import { decodeEmbedding } from '../../shared/src/db/columns.js';
import { createWhereSchema, matchesWhere } from '../../shared/src/db/where.js';
import { BACKENDS, openIndexFixture, type IndexFixture } from './index-fixture.js';
import type { VectorIndex } from '../src/vectors/vector-index.js';

const TEAMS = ['red', 'green', 'blue', 'gold'];
const LANGS = ['en', 'pt', 'es'];
const TOPICS = ['honey', 'wax', 'pollen', 'queen', 'drone', 'nectar', 'comb', 'swarm'];
const DOCS = 240;

function metadataOf(i: number): Record<string, unknown> {
  return {
    team: TEAMS[i % TEAMS.length],
    lang: LANGS[(i * 7) % LANGS.length],
    year: 2015 + (i % 10),
    score: (i * 37) % 100,
    ...(i % 5 === 0 ? {} : { reviewed: i % 3 === 0 }),
    author: { name: `a${i % 6}` },
  };
}

const filterArb: fc.Arbitrary<unknown> = fc.letrec<{ filter: unknown; leaf: unknown }>((tie) => ({
  leaf: fc.oneof(
    fc.record({ team: fc.constantFrom(...TEAMS) }),
    fc.record({ lang: fc.record({ $in: fc.subarray(LANGS, { minLength: 1 }) }) }),
    fc.record({ year: fc.record({ $gte: fc.integer({ min: 2014, max: 2025 }) }) }),
    fc.record({ score: fc.record({ $lt: fc.integer({ min: 0, max: 100 }) }) }),
    fc.record({ reviewed: fc.boolean() }),
    fc.record({ reviewed: fc.record({ $ne: fc.boolean() }) }),
    fc.record({ 'author.name': fc.constantFrom('a0', 'a1', 'a2', 'a3', 'a4', 'a5') }),
  ),
  filter: fc.oneof(
    { depthSize: 'small', maxDepth: 2 },
    tie('leaf'),
    fc.record({ $and: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $or: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
  ),
})).filter;

describe('filtered search against a brute-force reference', () => {
  const fixtures = new Map<string, { fx: IndexFixture; index: VectorIndex }>();
  const parseWhere = createWhereSchema({ maxDepth: 6, maxConditions: 64, maxInList: 100 });

  before(async () => {
    for (const backend of BACKENDS) {
      const fx = await openIndexFixture(backend, { FILTER_EXACT_MAX_IDS: '40' });
      for (let i = 0; i < DOCS; i++) {
        await fx.seed(
          `doc-${String(i).padStart(3, '0')}`,
          `Note ${i} on ${TOPICS[i % TOPICS.length]} and ${TOPICS[(i * 3) % TOPICS.length]} kept by the ${TEAMS[i % TEAMS.length]} team`,
          metadataOf(i),
        );
      }
      fixtures.set(backend, { fx, index: await fx.openIndex() });
    }
  });
  after(async () => {
    for (const { fx } of fixtures.values()) await fx.close();
  });

  it('returns only matching chunks, k of them when k match, and the same documents on every backend', async () => {
    await fc.assert(
      fc.asyncProperty(filterArb, fc.constantFrom(...TOPICS), fc.integer({ min: 1, max: 12 }), async (raw, topic, k) => {
        const where = parseWhere.parse(raw);
        const expected = new Set(
          Array.from({ length: DOCS }, (_, i) => i)
            .filter((i) => matchesWhere(metadataOf(i), where))
            .map((i) => `doc-${String(i).padStart(3, '0')}`),
        );
        const documentsByBackend: string[][] = [];
        for (const { fx, index } of fixtures.values()) {
          const allowed = await chunkIdsMatching(fx.db, where);
          const rows = (await fx
            .db('chunks')
            .select('id', 'document_id')
            .whereIn('id', allowed.length > 0 ? allowed : [-1])) as Array<{ id: number; document_id: string }>;
          const documents = [...new Set(rows.map((r) => r.document_id))].sort();
          assert.deepEqual(documents, [...expected].sort(), `SQL filter agrees with the reference for ${JSON.stringify(raw)}`);
          documentsByBackend.push(documents);
          const [vector] = await fx.embedder.embed([`${topic} notes`]);
          const hits = await index.searchWithin(vector ?? [], k, allowed);
          assert.equal(hits.length, Math.min(k, allowed.length));
          const allowedSet = new Set(allowed);
          assert.ok(hits.every((hit) => allowedSet.has(hit.chunkId)));
          if (allowed.length <= 40) {
            const exact = (await exactRanking(fx, vector ?? [], allowed)).slice(0, k);
            hits.forEach((hit, i) => assert.ok(Math.abs(hit.score - (exact[i]?.score ?? Infinity)) < 1e-5, 'a selective filter is scored exactly'));
          }
        }
        for (const documents of documentsByBackend) assert.deepEqual(documents, documentsByBackend[0]);
      }),
      { numRuns: 150, seed: 20261122 },
    );
  });
});

/** Brute force over the allowed ids, from the embeddings stored in SQL (not from the index). */
async function exactRanking(fx: IndexFixture, vector: number[], allowed: number[]): Promise<Array<{ id: number; score: number }>> {
  const rows = (await fx.db('chunks').select('id', 'embedding').whereIn('id', allowed)) as Array<{ id: number; embedding: Uint8Array }>;
  const scored = rows.map((row) => {
    const stored = decodeEmbedding(row.embedding);
    return { id: row.id, score: stored.reduce((sum, x, d) => sum + x * (vector[d] ?? 0), 0) };
  });
  return scored.sort((a, b) => b.score - a.score);
}
