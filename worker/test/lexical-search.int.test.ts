/**
 * The lexical index on real databases: SQLite (FTS5) and, when TEST_DATABASE_URL is set, Postgres
 * (tsvector + GIN) return the same documents for the same queries, and both equal a reference in
 * TypeScript (a document matches when it holds a folded word of the query; stop words count only
 * in a query of nothing else), over random texts
 * and queries full of query-syntax characters. Entries follow their chunks through replace,
 * removal and the migration's back-fill; hybrid retrieval keeps k results under a filter.
 */
import type { Embedder } from '../src/embedders/embedder.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import fc from 'fast-check';
import { searchLexical } from '../../shared/src/db/lexical-repo.js';
import { lexicalTerms, queryTerms } from '../../shared/src/db/lexical-terms.js';
import { createWhereSchema } from '../../shared/src/db/where.js';
import { deleteLexicalEntries, rewriteLexicalEntries, writeLexicalEntries } from '../../shared/src/db/lexical-repo.js';
import { createChunkTermsMigration } from '../../migrations/20261210000000_create_chunk_terms.js';
import { createScopeChunkTermsMigration } from '../../migrations/20261228000000_scope_chunk_terms.js';
import { retrieve, type IndexSource } from '../src/retrieve.js';
import type { VectorIndex } from '../src/vectors/vector-index.js';
import { BACKENDS, openIndexFixture, type IndexFixture } from './index-fixture.js';

const SEED = Number(process.env['LEXICAL_SEED'] ?? randomInt(2 ** 31)); // replace with the seed of a failure to replay it
const DOCS = 120;
const WORDS = [
  'Honey',
  'honey',
  'HÓNEY',
  'café',
  'Cafe',
  'naïve',
  'NEAR',
  'near',
  'AND',
  'or',
  'NOT',
  'straße',
  'Σίσυφος',
  'σίσυφοσ',
  'x1',
  '42',
  'ﬁle',
  'e\u0301te\u0301',
  'été',
  'ÆRØ',
  'pollen',
  'queen',
  'wax',
  'drone',
  'comb',
  'nectar',
];
const HOSTILE = [
  '"',
  '*',
  ':',
  '&',
  '|',
  '!',
  '(',
  ')',
  '-',
  '^',
  "'",
  '\\',
  '%',
  '_',
  ';',
  '?',
  '??',
  '$1',
  '{',
  '}',
  '[',
  ']',
  '+',
  '~',
  '<->',
  '\n',
  '\t',
  '😀',
  '.',
  ',',
  ' ',
];
const pieceArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE) },
  fc.stringMatching(/^[a-z]{1,6}$/),
);
const textArb = fc
  .array(pieceArb, { minLength: 1, maxLength: 30 })
  .map((pieces) => pieces.join(fc.sample(fc.constantFrom(' ', ''), { numRuns: 1, seed: pieces.length })[0] ?? ' '));
const queryArb = fc.array(fc.oneof(pieceArb, fc.constant('\u0000')), { minLength: 0, maxLength: 8 }).map((pieces) => pieces.join(' '));

describe('the lexical index', () => {
  const fixtures = new Map<string, { fx: IndexFixture; index: VectorIndex }>();
  // Random texts, then 14 that hold both query words, so a filter on half leaves at least 7 lexical matches whatever the seed.
  const texts = [...fc.sample(textArb, { numRuns: DOCS, seed: SEED }), ...Array.from({ length: 14 }, (_, i) => `Honey and café, note ${i}.`)];
  const idOf = (i: number) => `lex-${String(i).padStart(3, '0')}`;

  before(async () => {
    for (const backend of BACKENDS) {
      const fx = await openIndexFixture(backend);
      for (const [i, text] of texts.entries()) await fx.seed(idOf(i), text, { half: i % 2 });
      fixtures.set(backend, { fx, index: await fx.openIndex() });
    }
  });
  after(async () => {
    for (const { fx } of fixtures.values()) await fx.close();
  });

  const documentsFor = async (fx: IndexFixture, query: string): Promise<string[]> => {
    const hits = await searchLexical(fx.db, query, 10_000);
    const rows = (await fx
      .db('chunks')
      .select('document_id')
      .whereIn('id', hits.length > 0 ? hits.map((h) => h.chunkId) : [-1])) as Array<{ document_id: string }>;
    return [...new Set(rows.map((row) => row.document_id))].sort();
  };

  it('finds the same documents on every backend, those sharing a folded word with the query, whatever the characters', async () => {
    await fc.assert(
      fc.asyncProperty(queryArb, async (query) => {
        const words = new Set(queryTerms(query));
        const expected = texts
          .map((text, i) => ({ text, id: idOf(i) }))
          .filter(({ text }) => lexicalTerms(text).some((term) => words.has(term)))
          .map(({ id }) => id)
          .sort();
        for (const [backend, { fx }] of fixtures) assert.deepEqual(await documentsFor(fx, query), expected, `${backend}: query ${JSON.stringify(query)}`);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('treats query syntax as words or separators, and a query without words finds nothing', async () => {
    for (const { fx } of fixtures.values()) {
      for (const query of [
        '"',
        '" OR 1=1 --',
        '*',
        'NEAR(honey wax)',
        'honey:*',
        'a & b | !c',
        '(((',
        '-honey',
        '^queen',
        "'); drop table chunks; --",
        '\\',
        '?',
        '...',
      ]) {
        await searchLexical(fx.db, query, 10); // never throws
      }
      assert.deepEqual(await searchLexical(fx.db, '!!! ??? ***', 10), []);
      assert.ok((await documentsFor(fx, 'NEAR')).length > 0, 'NEAR is a word');
      assert.deepEqual(await documentsFor(fx, '"HONEY"'), await documentsFor(fx, 'honey'), 'quotes and case change nothing');
    }
  });

  it('ranks a rare word first, and forgets a removed document on both sides', async () => {
    for (const { fx, index } of fixtures.values()) {
      await fx.seed('rare-doc', 'The zygomorphic florets of this plant are rare.', { half: 0 });
      const found = await retrieve({ config: fx.config, db: fx.db, indexes: sourceOf(index, fx.embedder) }, { query: 'ZYGOMORPHIC', k: 3 });
      assert.equal(found[0]?.documentId, 'rare-doc');
      assert.equal(found[0]?.lexicalRank, 1);
      await fx.remove('rare-doc');
      for (const mode of ['hybrid', 'vector', 'lexical'] as const) {
        const after = await retrieve({ config: fx.config, db: fx.db, indexes: sourceOf(index, fx.embedder) }, { query: 'zygomorphic florets', k: 200, mode });
        assert.ok(!after.some((hit) => hit.documentId === 'rare-doc'), mode);
      }
      assert.deepEqual(await searchLexical(fx.db, 'zygomorphic', 10), []);
    }
  });

  it('keeps k results under a filter in every mode, with scores and ranks of each side', async () => {
    const where = createWhereSchema({ maxDepth: 4, maxConditions: 8, maxInList: 8 }).parse({ half: 1 });
    for (const { fx, index } of fixtures.values()) {
      const s = { config: fx.config, db: fx.db, indexes: sourceOf(index, fx.embedder) };
      for (const mode of ['hybrid', 'vector', 'lexical'] as const) {
        const hits = await retrieve(s, { query: 'honey café', k: 7, where, mode });
        assert.equal(hits.length, 7, mode);
        assert.ok(
          hits.every((hit) => hit.metadata['half'] === 1),
          mode,
        );
        for (const hit of hits) {
          assert.equal(hit.vectorRank === null, hit.vectorScore === null);
          assert.equal(hit.lexicalRank === null, hit.lexicalScore === null);
          if (mode === 'vector') assert.equal(hit.lexicalRank, null);
          if (mode === 'lexical') assert.equal(hit.vectorRank, null);
        }
        const scores = hits.map((h) => h.score);
        assert.deepEqual(
          scores,
          [...scores].sort((a, b) => b - a),
          `${mode} best first`,
        );
      }
      const floor = await retrieve(s, { query: 'honey', k: 50, minScore: 0.9 });
      assert.ok(floor.every((hit) => hit.score >= 0.9));
    }
  });

  it('is back-filled from the stored chunks by its migration', async () => {
    const migration = createChunkTermsMigration(writeLexicalEntries);
    for (const { fx } of fixtures.values()) {
      const before = await documentsFor(fx, 'pollen queen');
      await migration.down?.(fx.db);
      await migration.up(fx.db);
      assert.deepEqual(await documentsFor(fx, 'pollen queen'), before);
      assert.ok(before.length > 0);
    }
  });

  it("is written again with each collection's terms by the scoping migration, and a collection matches only its own", async () => {
    for (const { fx } of fixtures.values()) {
      const before = await documentsFor(fx, 'pollen queen');
      const ids = (await fx.db<{ id: number }>('chunks').select('id')).map((row) => row.id);
      await deleteLexicalEntries(fx.db, ids);
      assert.deepEqual(await documentsFor(fx, 'pollen queen'), []);
      await createScopeChunkTermsMigration(rewriteLexicalEntries).up(fx.db);
      assert.deepEqual(await documentsFor(fx, 'pollen queen'), before);
      assert.deepEqual(await searchLexical(fx.db, 'pollen queen', 10, undefined, 'no-such-collection'), [], "another collection's terms are other tokens");
    }
  });
});

/** The fixture's one index as retrieval's index source: synced before each read, as the worker's are. */
function sourceOf(index: VectorIndex, embedder: Embedder): IndexSource {
  return {
    synced: async () => {
      await index.sync();
      return index;
    },
    serving: async () => {
      await index.sync();
      return { index, embedder };
    },
  };
}
