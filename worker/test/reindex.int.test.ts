import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { EmbedderSwitchedError, replaceDocumentChunks } from '../../shared/src/db/chunks-repo.js';
import { hashContent, upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { claimIndexMeta, readIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { createBuiltinEmbedder } from '../src/embedders/builtin.js';
import { IndexInvalidatedError, VectorIndex } from '../src/vectors/vector-index.js';
import { openIndexFixture, type IndexFixture } from './index-fixture.js';

const run = promisify(execFile);
const reindexCli = fileURLToPath(new URL('../src/reindex-cli.js', import.meta.url));

describe('npm run reindex', () => {
  let fx: IndexFixture;
  before(async () => {
    fx = await openIndexFixture('sqlite');
    for (let i = 0; i < 30; i++) await fx.seed(`r-${i}`, `document ${i} about ${i % 2 === 0 ? 'meadows and clover' : 'rivers and stones'} tag${i}x`);
  });
  after(async () => {
    await fx.close();
  });

  it('re-embeds every chunk with the new embedder, records it, and stops indexes of the old space, even one that lags behind', async () => {
    const invalidations: IndexInvalidatedError[] = [];
    const meta = await claimIndexMeta(fx.db, fx.embedder.id, fx.embedder.dimension);
    const old = await VectorIndex.load(
      fx.config,
      fx.db,
      { embedder: fx.embedder.id, dimension: fx.embedder.dimension, instanceId: meta.instanceId },
      fx.logger,
      (err) => invalidations.push(err),
    );
    // Committed after `old` last synced: `old` lags behind the reindex, and these rows' chunks will
    // hold the new embedder's vectors by the time it replays them.
    for (const id of ['lag-1', 'lag-2']) await fx.seed(id, `document ${id} written before the switch`);
    const { stdout, stderr } = await run(process.execPath, [reindexCli], {
      env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'test', DATA_DIR: fx.dataDir, EMBEDDER: 'builtin', BUILTIN_EMBED_DIM: '256' },
    });
    assert.match(stdout + stderr, /reindex done/);
    const recorded = await readIndexMeta(fx.db);
    assert.equal(recorded?.embedder, 'builtin-hash-v1:256');
    const sizes: Array<{ embedding: Buffer }> = await fx.db('chunks').select('embedding');
    assert.ok(sizes.length > 0 && sizes.every((row) => row.embedding.length === 256 * 4));

    await assert.rejects(old.sync(), IndexInvalidatedError);
    assert.equal(invalidations.length, 1);

    const embedder = createBuiltinEmbedder(256);
    const fresh = await VectorIndex.load(fx.config, fx.db, { embedder: embedder.id, dimension: 256, instanceId: meta.instanceId }, fx.logger);
    assert.equal(fresh.startup.source, 'rebuild');
    const [vector] = await embedder.embed(['tag7x']);
    const top = fresh.search(vector ?? [], 1)[0];
    assert.ok(top);
    const row = (await fx.db('chunks').select('document_id').where({ id: top.chunkId }).first()) as { document_id: string };
    assert.equal(row.document_id, 'r-7');
    await fresh.close();
    await old.close();
  });

  it('refuses an ingest commit of vectors from the embedder a reindex replaced, so no chunk keeps the old dimension', async () => {
    const recorded = await readIndexMeta(fx.db);
    assert.equal(recorded?.embedder, 'builtin-hash-v1:256', 'the previous test switched the database');
    const text = 'embedded by a worker that had not seen the switch yet';
    const saved = await upsertPendingDocument(fx.db, { id: 'late-ingest', text, requestId: 'test' });
    const [vector] = await fx.embedder.embed([text]); // the fixture's embedder: the old 384 dimensions
    await assert.rejects(
      replaceDocumentChunks(fx.db, {
        documentId: 'late-ingest',
        revision: saved.revision,
        contentHash: hashContent(text),
        embedder: fx.embedder.id,
        chunks: [{ text, embedding: vector ?? [] }],
      }),
      (err: unknown) => err instanceof EmbedderSwitchedError && /now uses embedder builtin-hash-v1:256, not builtin-hash-v1:384/.test(err.message),
    );
    const wrongDimension: Array<{ id: number }> = await fx
      .db('chunks')
      .select('id')
      .whereRaw('length(embedding) <> ?', [256 * 4]);
    assert.deepEqual(wrongDimension, []);
  });
});
