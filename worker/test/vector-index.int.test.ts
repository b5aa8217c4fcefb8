import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BACKENDS, openIndexFixture, type IndexFixture } from './index-fixture.js';

const WORDS = ['amber', 'basalt', 'cobalt', 'dune', 'ember', 'fjord', 'glacier', 'harbor', 'iris', 'juniper', 'kelp', 'lagoon'];

function uniqueWord(i: number): string {
  return `zq${i.toString(36)}x${(i * 7919).toString(36)}`;
}

function docText(i: number): string {
  return `Report ${i} about ${WORDS[i % WORDS.length]} and ${WORDS[(i * 5) % WORDS.length]}: the marker ${uniqueWord(i)} appears here once.`;
}

for (const backend of BACKENDS) {
  describe(`VectorIndex on ${backend}`, () => {
    let fx: IndexFixture;
    before(async () => {
      fx = await openIndexFixture(backend, { HNSW_INITIAL_CAPACITY: '16' });
    });
    after(async () => {
      await fx.close();
    });

    it('finds a chunk committed through another connection after its next sync', async () => {
      const reader = await fx.openIndex();
      await fx.seed('doc-1', docText(1), { team: 'a' });
      await reader.sync();
      const [vector] = await fx.embedder.embed([uniqueWord(1)]);
      const hits = reader.search(vector ?? [], 3);
      assert.ok(hits.length > 0);
      const [first] = hits;
      assert.ok(first);
      const row = (await fx.db('chunks').select('document_id').where({ id: first.chunkId }).first()) as { document_id: string };
      assert.equal(row.document_id, 'doc-1');
    });

    it('costs exactly one query when nothing changed', async () => {
      const index = await fx.openIndex();
      await index.sync();
      let queries = 0;
      const count = () => {
        queries++;
      };
      fx.db.on('query', count);
      try {
        await index.sync();
      } finally {
        fx.db.off('query', count);
      }
      assert.equal(queries, 1);
    });

    it('shares one sync between concurrent callers and misses no commit made before a call', async () => {
      const index = await fx.openIndex();
      const pending: Array<Promise<void>> = [];
      for (let i = 10; i < 30; i++) {
        await fx.seed(`doc-${i}`, docText(i));
        pending.push(index.sync());
      }
      await Promise.all(pending);
      const live = (await fx.db('chunks').count({ n: '*' }).first()) as { n: number | string };
      assert.equal(index.size, Number(live.n));
    });

    it('grows its capacity before it is full and reuses deleted slots', async () => {
      const index = await fx.openIndex();
      for (let i = 100; i < 160; i++) await fx.seed(`grow-${i}`, docText(i));
      await index.sync();
      const grown = index.stats();
      assert.ok(grown.capacity >= grown.slots, 'capacity covers every slot');
      assert.ok(grown.capacity > 16, 'capacity grew from 16');
      for (let i = 100; i < 130; i++) await fx.remove(`grow-${i}`);
      await index.sync();
      const slotsAfterDelete = index.stats().slots;
      for (let i = 200; i < 230; i++) await fx.seed(`reuse-${i}`, docText(i));
      await index.sync();
      assert.equal(index.stats().slots, slotsAfterDelete, 'new chunks took the deleted slots');
    });

    it('never returns a removed document again', async () => {
      const index = await fx.openIndex();
      await fx.seed('gone', docText(500));
      await index.sync();
      const [vector] = await fx.embedder.embed([uniqueWord(500)]);
      const before = index.search(vector ?? [], 1)[0];
      assert.ok(before);
      await fx.remove('gone');
      await index.sync();
      assert.ok(index.search(vector ?? [], 50).every((hit) => hit.chunkId !== before.chunkId));
    });

    it('replaces the chunks of a document on upsert: the old chunks are gone from results', async () => {
      const index = await fx.openIndex();
      await fx.seed('up', `first version ${uniqueWord(600)}`);
      await index.sync();
      const oldIds = ((await fx.db('chunks').select('id').where({ document_id: 'up' })) as Array<{ id: number }>).map((r) => r.id);
      await fx.seed('up', `second version ${uniqueWord(601)}`);
      await index.sync();
      const [vector] = await fx.embedder.embed([`version ${uniqueWord(600)}`]);
      const ids = index.search(vector ?? [], 100).map((hit) => hit.chunkId);
      assert.ok(oldIds.every((id) => !ids.includes(id)));
    });

    it('filters exactly: only allowed chunks, and k results when k exist', async () => {
      const index = await fx.openIndex({ FILTER_EXACT_MAX_IDS: '3' });
      await index.sync();
      const rows: Array<{ id: number }> = await fx.db('chunks').select('id');
      const all = rows.map((r) => r.id);
      const [vector] = await fx.embedder.embed(['report about amber']);
      for (const allowed of [all.slice(0, 2), all.slice(0, 20), all]) {
        const hits = await index.searchWithin(vector ?? [], 5, allowed);
        assert.equal(hits.length, Math.min(5, allowed.length));
        assert.ok(hits.every((hit) => allowed.includes(hit.chunkId)));
      }
    });

    it('loads its checkpoint on restart instead of rebuilding', async () => {
      const first = await fx.openIndex({ DATA_DIR: path.join(fx.dataDir, 'restart') });
      await first.checkpoint();
      const second = await fx.openIndex({ DATA_DIR: path.join(fx.dataDir, 'restart') });
      assert.equal(second.startup.source, 'checkpoint');
      assert.equal(second.size, first.size);
      assert.equal(second.seq, first.seq);
    });
  });
}

describe('VectorIndex from a checkpoint of an empty index', () => {
  let fx: IndexFixture;
  before(async () => {
    fx = await openIndexFixture('sqlite');
  });
  after(async () => {
    await fx.close();
  });

  // hnswlib reads an empty index file back with a capacity of 0: the first vector after it must still fit.
  it('takes the vectors committed after it, and finds them', async () => {
    const empty = await fx.openIndex();
    assert.equal(empty.size, 0);
    await empty.checkpoint();
    const restarted = await fx.openIndex();
    assert.equal(restarted.startup.source, 'checkpoint');
    for (let i = 0; i < 3; i++) await fx.seed(`after-empty-${i}`, docText(i));
    await restarted.sync();
    assert.equal(restarted.size, 3);
    const [vector] = await fx.embedder.embed([uniqueWord(1)]);
    assert.ok((restarted.search(vector ?? [], 3)[0]?.chunkId ?? 0) > 0);
  });
});

describe('VectorIndex start-up with damaged checkpoints', () => {
  let fx: IndexFixture;
  const dir = () => path.join(fx.dataDir, 'damaged');

  before(async () => {
    fx = await openIndexFixture('sqlite');
    for (let i = 0; i < 40; i++) await fx.seed(`d-${i}`, docText(i));
  });
  after(async () => {
    await fx.close();
  });

  async function freshCheckpoint(): Promise<{ bin: string; manifest: string; current: string }> {
    const index = await fx.openIndex({ DATA_DIR: dir() });
    await index.checkpoint();
    const name = (await readFile(path.join(dir(), 'index', 'default', 'CURRENT'), 'utf8')).trim();
    return {
      bin: path.join(dir(), 'index', 'default', `${name}.bin`),
      manifest: path.join(dir(), 'index', 'default', `${name}.json`),
      current: path.join(dir(), 'index', 'default', 'CURRENT'),
    };
  }

  async function assertRebuiltAndComplete(reason: RegExp): Promise<void> {
    const index = await fx.openIndex({ DATA_DIR: dir() });
    assert.equal(index.startup.source, 'rebuild');
    assert.match(index.startup.reason ?? '', reason);
    assert.equal(index.size, 40);
    const [vector] = await fx.embedder.embed([uniqueWord(7)]);
    const top = index.search(vector ?? [], 1)[0];
    assert.ok(top);
    const row = (await fx.db('chunks').select('document_id').where({ id: top.chunkId }).first()) as { document_id: string };
    assert.equal(row.document_id, 'd-7');
  }

  it('rebuilds when the index file is truncated', async () => {
    const files = await freshCheckpoint();
    await truncate(files.bin, 1000);
    await assertRebuiltAndComplete(/bytes, manifest says/);
  });

  it('rebuilds when one byte of the index file is flipped', async () => {
    const files = await freshCheckpoint();
    const bytes = await readFile(files.bin);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] ?? 0) ^ 0xff;
    await writeFile(files.bin, bytes);
    await assertRebuiltAndComplete(/checksum mismatch/);
  });

  it('rebuilds, without calling readIndex, when the index file is short but its manifest was written for it', async () => {
    const files = await freshCheckpoint();
    const short = (await readFile(files.bin)).subarray(0, 5000);
    await writeFile(files.bin, short);
    const manifest = JSON.parse(await readFile(files.manifest, 'utf8')) as Record<string, unknown>;
    await writeFile(files.manifest, JSON.stringify({ ...manifest, size: short.length, sha256: createHash('sha256').update(short).digest('hex') }));
    await assertRebuiltAndComplete(/index file is 5000 bytes, its [0-9]+ elements need [0-9]+/);
  });

  it('rebuilds when CURRENT is garbage', async () => {
    const files = await freshCheckpoint();
    await writeFile(files.current, '../../etc/passwd');
    await assertRebuiltAndComplete(/does not name a checkpoint/);
  });

  it('rebuilds when the manifest names another embedder', async () => {
    const files = await freshCheckpoint();
    const manifest = JSON.parse(await readFile(files.manifest, 'utf8')) as Record<string, unknown>;
    await writeFile(files.manifest, JSON.stringify({ ...manifest, embedder: 'ollama:other:768' }));
    await assertRebuiltAndComplete(/embedder/);
  });

  it('never crashes on 300 randomly damaged checkpoint files', async () => {
    const files = await freshCheckpoint();
    const pristine = { bin: await readFile(files.bin), manifest: await readFile(files.manifest) };
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const reasons = new Map<string, number>();
    for (let round = 0; round < 300; round++) {
      const bin = Buffer.from(pristine.bin);
      const manifest = Buffer.from(pristine.manifest);
      const target = round % 3 === 2 ? manifest : bin;
      const mode = Math.floor(random() * 3);
      let damaged: Buffer = target;
      if (mode === 0) damaged = target.subarray(0, Math.floor(random() * target.length));
      else
        for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) {
          const at = Math.floor(random() * target.length);
          target[at] = (target[at] ?? 0) ^ (1 + Math.floor(random() * 255));
        }
      await writeFile(files.bin, target === bin ? damaged : bin);
      await writeFile(files.manifest, target === manifest ? damaged : manifest);
      const index = await fx.openIndex({ DATA_DIR: dir() });
      assert.equal(index.size, 40, `round ${round}`);
      const key = index.startup.reason?.replace(/[0-9]+/g, 'N') ?? 'loaded';
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
      (globalThis as { gc?: () => void }).gc?.();
    }
    assert.ok(![...reasons.keys()].some((reason) => reason.startsWith('readIndex failed')), 'no damaged file reached readIndex');
    const leftovers = (await readdir(path.join(dir(), 'index', 'default'))).filter((file) => file.includes('.load-'));
    assert.deepEqual(leftovers, []);
  });
});
