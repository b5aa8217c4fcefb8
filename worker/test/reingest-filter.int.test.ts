/**
 * A document posted again with new metadata, before its re-ingest has run: filters on both sides
 * of search still see the old chunks with the old metadata (the old document), never the old text
 * under the new metadata.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { chunkIdsMatching } from '../../shared/src/db/chunks-repo.js';
import { upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { searchLexical } from '../../shared/src/db/lexical-repo.js';
import type { WhereAst } from '../../shared/src/db/where.js';
import { BACKENDS, openIndexFixture, type IndexFixture } from './index-fixture.js';

const team = (value: string): WhereAst => ({ kind: 'eq', path: ['team'], value });

for (const backend of BACKENDS) {
  describe(`filters during a pending re-ingest on ${backend}`, () => {
    let fx: IndexFixture | undefined;
    after(async () => fx?.close());

    it('match the chunks by the metadata they were committed with', async () => {
      fx = await openIndexFixture(backend);
      await fx.seed('moving', 'the swarm left the old hive at dawn', { team: 'red' });
      await upsertPendingDocument(fx.db, { id: 'moving', text: 'a new text, not yet ingested', metadata: { team: 'blue' }, requestId: 'test' });
      assert.equal((await chunkIdsMatching(fx.db, team('blue'))).length, 0);
      assert.equal((await chunkIdsMatching(fx.db, team('red'))).length, 1);
      assert.equal((await searchLexical(fx.db, 'swarm', 10, team('blue'))).length, 0);
      assert.equal((await searchLexical(fx.db, 'swarm', 10, team('red'))).length, 1);
    });
  });
}
