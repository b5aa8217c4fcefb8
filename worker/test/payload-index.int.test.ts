/**
 * The payload index inside a real VectorIndex over real databases: filters on declared fields are
 * answered with the chunks SQL selects (k of them when k match), whichever plan runs, and the
 * postings follow the change log: declarations, metadata updates, re-ingests, removals, and a load
 * from a checkpoint.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chunkIdsMatching } from '../../shared/src/db/chunks-repo.js';
import { updateDocumentMetadata } from '../../shared/src/db/documents-repo.js';
import { declarePayloadIndex, dropPayloadIndex } from '../../shared/src/db/payload-indexes-repo.js';
import { createWhereSchema, type WhereAst } from '../../shared/src/db/where.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import { compactLog } from '../../shared/src/db/log-compaction-repo.js';
import { BACKENDS, openIndexFixture, type IndexFixture } from './index-fixture.js';
import type { VectorIndex } from '../src/vectors/vector-index.js';
import { choosePlan } from '../src/vectors/filter-plan.js';

const TEAMS = ['red', 'green', 'blue', 'gold'];
const TOPICS = ['honey', 'wax', 'pollen', 'queen', 'drone', 'nectar', 'comb', 'swarm'];
const DOCS = 200;
const DECLARED = [
  { field: 'team', type: 'keyword' },
  { field: 'year', type: 'number' },
  { field: 'score', type: 'number' },
  { field: 'reviewed', type: 'bool' },
  { field: 'tags', type: 'keyword' },
  { field: 'author.name', type: 'keyword' },
] as const;
const parseWhere = createWhereSchema({ maxDepth: 6, maxConditions: 64, maxInList: 100 });
const where = (filter: unknown): WhereAst => parseWhere.parse(filter);

function metadataOf(i: number): Record<string, unknown> {
  return {
    team: TEAMS[i % TEAMS.length],
    year: 2015 + (i % 10),
    score: (i * 37) % 100,
    ...(i % 5 === 0 ? {} : { reviewed: i % 3 === 0 }),
    tags: i % 4 === 0 ? 'single' : [TOPICS[i % TOPICS.length], i % 2 === 0 ? null : 7],
    author: i % 7 === 0 ? null : { name: `a${i % 6}` },
  };
}

const leafArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ team: fc.constantFrom(...TEAMS, 'none') }),
  fc.record({ team: fc.record({ $gte: fc.constantFrom('blue', 'gold', 'h') }) }),
  fc.record({ year: fc.record({ $gte: fc.integer({ min: 2014, max: 2025 }) }) }),
  fc.record({ score: fc.record({ $lt: fc.integer({ min: 0, max: 100 }) }) }),
  fc.record({ score: fc.record({ $in: fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 20 }) }) }),
  fc.record({ reviewed: fc.boolean() }),
  fc.record({ reviewed: fc.record({ $ne: fc.boolean() }) }),
  fc.record({ reviewed: fc.record({ $exists: fc.boolean() }) }),
  fc.record({ tags: fc.record({ $contains: fc.constantFrom(...TOPICS, null, 7, 'single') }) }),
  fc.record({ tags: fc.constantFrom('single', 'honey') }),
  fc.record({ 'author.name': fc.constantFrom('a0', 'a1', 'a2', 'a3', 'a4', 'a5') }),
  fc.record({ year: fc.record({ $not: fc.record({ $lt: fc.integer({ min: 2014, max: 2025 }) }) }) }),
);
const filterArb: fc.Arbitrary<unknown> = fc.letrec<{ filter: unknown }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', maxDepth: 2 },
    leafArb,
    fc.record({ $and: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $or: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $not: tie('filter') }),
  ),
})).filter;

for (const backend of BACKENDS) {
  describe(`payload index on ${backend}`, () => {
    let fx: IndexFixture;
    let index: VectorIndex;
    let narrow: VectorIndex; // a small ef, so the post-filter bound is low and other plans run

    before(async () => {
      fx = await openIndexFixture(backend, { FILTER_EXACT_MAX_IDS: '30' });
      for (let i = 0; i < DOCS; i++) {
        await fx.seed(`doc-${i}`, `Note ${i} on ${TOPICS[i % TOPICS.length]} and ${TOPICS[(i * 3) % TOPICS.length]}`, metadataOf(i));
      }
      for (const declared of DECLARED.slice(0, 3)) await declarePayloadIndex(fx.db, { collection: DEFAULT_COLLECTION, ...declared, max: 16 });
      index = await fx.openIndex({ FILTER_EXACT_MAX_IDS: '30' }); // loads these three from SQL
      for (const declared of DECLARED.slice(3)) await declarePayloadIndex(fx.db, { collection: DEFAULT_COLLECTION, ...declared, max: 16 });
      await index.sync(); // learns the rest from the log's index rows
      narrow = await fx.openIndex({ FILTER_EXACT_MAX_IDS: '10', HNSW_EF_SEARCH: '10' });
    });
    after(async () => {
      await fx.close();
    });

    it('answers every filter on declared fields with the chunks SQL selects, k of them when k match', async () => {
      const plans = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(filterArb, fc.constantFrom(...TOPICS), fc.integer({ min: 1, max: 12 }), async (raw, topic, k) => {
          const filter = where(raw);
          const allowed = new Set(await chunkIdsMatching(fx.db, filter));
          const [vector = []] = await fx.embedder.embed([`${topic} notes`]);
          for (const target of [index, narrow]) {
            assert.ok(target.answersWhere(filter));
            const hits = (await target.searchWhere(vector, k, filter)) ?? [];
            const plan = target.lastFilterPlan ?? 'none';
            plans.set(plan, (plans.get(plan) ?? 0) + 1);
            assert.equal(hits.length, Math.min(k, allowed.size), `${JSON.stringify(raw)} (${plan}): k hits when k match`);
            assert.ok(
              hits.every((hit) => allowed.has(hit.chunkId)),
              `${JSON.stringify(raw)} (${plan}): only matching chunks`,
            );
          }
        }),
        { numRuns: 150, seed: 20261201 },
      );
      for (const plan of ['exact', 'post-filter', 'walk']) assert.ok((plans.get(plan) ?? 0) > 0, `the ${plan} plan ran (${JSON.stringify([...plans])})`);
    });

    it('goes to SQL for a filter reading an undeclared field', () => {
      assert.equal(index.answersWhere(where({ team: 'red', lang: 'en' })), false);
      assert.equal(index.answersWhere(where({ $or: [{ team: 'red' }, { 'author.id': 1 }] })), false);
    });

    it('follows metadata updates, re-ingests, removals and dropped declarations through the log', async () => {
      const [vector = []] = await fx.embedder.embed(['honey notes']);
      const purple = where({ team: 'purple' });
      assert.deepEqual(await index.searchWhere(vector, 5, purple), []);
      await updateDocumentMetadata(fx.db, { collection: DEFAULT_COLLECTION, id: 'doc-3' }, { ...metadataOf(3), team: 'purple' });
      await index.sync();
      const doc3 = new Set(await chunkIdsMatching(fx.db, where({ team: 'purple' })));
      assert.ok(doc3.size > 0);
      assert.deepEqual(new Set(((await index.searchWhere(vector, 50, purple)) ?? []).map((hit) => hit.chunkId)), doc3);
      const gold = where({ $and: [{ team: 'gold' }, { score: 11 }] }); // doc-3 was gold, and doc-103 still is
      assert.deepEqual(new Set(((await index.searchWhere(vector, 50, gold)) ?? []).map((hit) => hit.chunkId)), new Set(await chunkIdsMatching(fx.db, gold)));
      await fx.seed('doc-new', 'Note on purple honey', { team: 'purple', year: 2030 });
      await index.sync();
      const purpleNow = new Set(await chunkIdsMatching(fx.db, purple));
      assert.deepEqual(new Set(((await index.searchWhere(vector, 50, purple)) ?? []).map((hit) => hit.chunkId)), purpleNow);
      await fx.remove('doc-3');
      await index.sync();
      const afterRemoval = (await index.searchWhere(vector, 50, purple)) ?? [];
      assert.ok(afterRemoval.every((hit) => !doc3.has(hit.chunkId)));
      assert.equal(afterRemoval.length, purpleNow.size - doc3.size);
      await dropPayloadIndex(fx.db, DEFAULT_COLLECTION, 'team');
      await index.sync();
      assert.equal(index.answersWhere(purple), false);
      assert.deepEqual(
        index.payloadFields.map((declared) => declared.field).sort(),
        DECLARED.map((declared) => declared.field)
          .filter((field) => field !== 'team')
          .sort(),
      );
      await declarePayloadIndex(fx.db, { collection: DEFAULT_COLLECTION, field: 'team', type: 'keyword', max: 16 });
      await index.sync();
      await index.checkpoint();
      assert.ok((await compactLog(fx.db, index.seq, 100_000)) > 0); // the meta, index and add rows before the checkpoint go
      const reloaded = await fx.openIndex({ FILTER_EXACT_MAX_IDS: '30' }); // from the checkpoint, fields from SQL
      assert.equal(reloaded.startup.source, 'checkpoint');
      const fromLoad = new Set(((await reloaded.searchWhere(vector, 50, purple)) ?? []).map((hit) => hit.chunkId));
      assert.deepEqual(fromLoad, new Set(await chunkIdsMatching(fx.db, purple)));
      await index.sync();
      assert.ok(index.answersWhere(purple));
    });
  });
}

describe('filter plan', () => {
  const base = { live: 100_000, k: 10, ef: 200, exactMax: 2_000 };
  it('scores a small filter exactly, post-filters a broad one within ef, and walks only when neither fits', () => {
    assert.equal(choosePlan({ ...base, estimate: 1_000 }).kind, 'exact'); // 1 %
    assert.deepEqual(choosePlan({ ...base, estimate: 20_000 }), { kind: 'post-filter', candidates: 150 }); // 20 %: an unfiltered search's cost
    assert.deepEqual(choosePlan({ ...base, estimate: 10_000 }), { kind: 'post-filter', candidates: 300 });
    assert.deepEqual(choosePlan({ ...base, estimate: 50_000 }), { kind: 'post-filter', candidates: 60 });
    assert.deepEqual(choosePlan({ ...base, estimate: 5_000 }), { kind: 'post-filter', candidates: 600 });
    assert.equal(choosePlan({ ...base, live: 10_000, estimate: 1_000 }).kind, 'post-filter'); // 10 % of 10k: cheaper than 1,000 exact scores
    assert.equal(choosePlan({ ...base, live: 10_000_000, estimate: 5_000 }).kind, 'walk'); // 0.05 % of 10M
    assert.equal(choosePlan({ ...base, estimate: 0 }).kind, 'exact');
  });
});
