/**
 * The data API against real processes (one web, two workers), on SQLite and, with
 * TEST_DATABASE_URL, on Postgres: a batch with a bad item is refused whole, naming every bad item;
 * a batch is stored and, with wait=true, answered once searchable, with each change's seq; an
 * Idempotency-Key replays it; a write answered with wait=true is always found by the next search,
 * whichever worker takes it (both do); chunks come back with spans that reproduce the document
 * text; count and PATCH see the same metadata as search filters, new operators included; a removal
 * waits too; minSeq beyond the log is refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient, type Reply } from './jobs-harness.js';

const KEY = 'data-api-e2e-key';
const PAIRS = 200;

interface Written {
  document: { id: string; status: string; revision: number };
  job: { queue: string; id: string };
  state?: string;
  seq?: number | null;
}
interface BatchWritten {
  documents: Array<{ id: string; revision: number; status: string; job: { id: string }; state?: string; seq?: number | null }>;
}
interface Hit {
  documentId: string;
  chunkId: number;
}
interface SearchBody {
  results: Hit[];
  seq: number;
}
interface ChunksBody {
  documentId: string;
  chunks: Array<{ id: number; ordinal: number; text: string; start: number | null; end: number | null }>;
  nextAfter: number | null;
}
interface StatusBody {
  workers: Array<{ id: string; jobs?: Record<string, { succeeded: number }> }>;
}

const marker = (i: number) => `mk${(i * 7919 + 104729).toString(36)}q${i}z`;

const scenarios = [{ name: 'SQLite', postgres: false }, ...(process.env['TEST_DATABASE_URL'] ? [{ name: 'Postgres', postgres: true }] : [])];

for (const scenario of scenarios) {
  describe(`data API: ${scenario.name}, one web and two workers`, () => {
    let stack: ServiceStack | undefined;
    let api: ApiClient;

    const search = async (body: Record<string, unknown>, prefix = ''): Promise<SearchBody> => {
      const reply = await api.post(`${prefix}/search`, body);
      assert.equal(reply.status, 200, reply.text);
      return reply.body as SearchBody;
    };
    const count = async (where?: unknown): Promise<number> => {
      const reply = await api.post('/documents/count', where === undefined ? {} : { where });
      assert.equal(reply.status, 200, reply.text);
      return (reply.body as { count: number }).count;
    };
    const written = (reply: Reply, status: number): Written => {
      assert.equal(reply.status, status, reply.text);
      return reply.body as Written;
    };

    before(async () => {
      stack = await startServiceStack({
        env: { API_KEYS: KEY, QUEUE_PREFIX: 'data-api', RATE_LIMIT_MAX: '1000000', HEARTBEAT_INTERVAL_MS: '500', CHUNK_SIZE: '200', CHUNK_OVERLAP: '40' },
        workers: 2,
        postgres: scenario.postgres,
      });
      const { web } = stack;
      api = new ApiClient(() => web.url, KEY);
      await waitFor(async () => ((await api.get('/status')).body as StatusBody).workers.length === 2, { timeoutMs: 10_000, what: 'both heartbeats' });
    });

    after(async () => {
      await stack?.close();
    });

    it('refuses a batch with bad items in the middle whole, naming each bad item and field', async () => {
      const documents = [
        { id: 'b-ok-0', text: 'a fine first document', metadata: { batch: 'refused' } },
        { id: 'b-ok-1', text: 'a fine second document', metadata: { batch: 'refused' } },
        { id: 'b-bad-2', text: '   ' },
        { id: 'b-ok-3', text: 'a fine fourth document', metadata: { batch: 'refused' } },
        { id: 'b-bad-4', text: 'metadata that is not an object', metadata: ['x'] },
        { id: 'b-ok-0', text: 'the id of item 0 again' },
      ];
      const reply = await api.post('/documents/batch', { documents: documents.slice(0, 5) });
      assert.equal(reply.status, 400, reply.text);
      const details = (reply.body as { error: { code: string; details: Array<{ path: string; rule: string }> } }).error.details;
      assert.deepEqual(
        details.map((d) => [d.path, d.rule]),
        [
          ['documents.2.text', 'not_blank'],
          ['documents.4.metadata', 'object'],
        ],
      );
      const duplicate = await api.post('/documents/batch', { documents: [documents[0], documents[5]] });
      assert.equal(duplicate.status, 400, duplicate.text);
      assert.match(duplicate.text, /documents\.1\.id/);
      assert.match(duplicate.text, /duplicate_id/);
      assert.equal((await api.get('/documents/b-ok-0')).status, 404, 'nothing of a refused batch is stored');
      assert.equal(await count({ batch: 'refused' }), 0);
      const tooMany = await api.post('/documents/batch', { documents: Array.from({ length: 101 }, (_, i) => ({ text: `doc ${i}` })) });
      assert.equal(tooMany.status, 400, tooMany.text);
      assert.match(tooMany.text, /"path":"documents","rule":"too_big"/);
    });

    it('stores a batch whole, answers once it is searchable with each seq, and replays it for the same Idempotency-Key', async () => {
      const documents = Array.from({ length: 12 }, (_, i) => ({
        id: `batch-${i}`,
        text: `Batch note ${i} about ${marker(1000 + i)}.`,
        metadata: { batch: 'one', i },
      }));
      const headers = { 'Idempotency-Key': `batch-${scenario.name}` };
      const reply = await api.request('POST', '/documents/batch?wait=true', { documents }, headers);
      assert.equal(reply.status, 200, reply.text);
      const body = reply.body as BatchWritten;
      assert.deepEqual(
        body.documents.map((d) => [d.id, d.revision, d.state, d.status]),
        documents.map((d) => [d.id, 1, 'searchable', 'ready']),
      );
      for (const [i, d] of body.documents.entries()) {
        assert.ok(typeof d.seq === 'number' && d.seq > 0, JSON.stringify(d));
        const view = await api.document(d.id);
        assert.equal(view?.seq, d.seq, 'GET /documents/:id names the same seq');
        assert.equal(d.job.id, body.documents[0]?.job.id, 'one job for the whole batch');
        const job = await api.job('ingest-batch', d.job.id);
        const item = (job.result as { documents: Array<{ documentId: string; seq?: number }> }).documents.find((r) => r.documentId === d.id);
        assert.equal(item?.seq, d.seq, 'GET /jobs names the same seq');
        const found = await search({ query: marker(1000 + i), k: 3, mode: 'vector', minSeq: d.seq });
        assert.equal(found.results[0]?.documentId, d.id);
        assert.ok(found.seq >= d.seq);
      }
      const replay = await api.request('POST', '/documents/batch', { documents }, headers);
      assert.equal(replay.status, 202, replay.text);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(
        (replay.body as BatchWritten).documents.map((d) => [d.id, d.revision]),
        documents.map((d) => [d.id, 1]),
      );
      assert.equal((await api.document('batch-0'))?.revision, 1, 'a replay stores no second revision');
      const reused = await api.request('POST', '/documents/batch', { documents: documents.slice(1) }, headers);
      assert.equal(reused.status, 409, reused.text);
      assert.equal(await count({ batch: 'one' }), 12);
    });

    it('fails a batch document with too many chunks alone; the others are searchable', async () => {
      const huge = Array.from({ length: 120_000 }, (_, i) => `w${i % 97}`).join(' '); // > MAX_CHUNKS_PER_DOCUMENT chunks of CHUNK_SIZE 200
      const documents = [
        { id: 'alone-0', text: `The first of a mixed batch, ${marker(9000)}.` },
        { id: 'alone-huge', text: huge },
        { id: 'alone-2', text: `The last of a mixed batch, ${marker(9002)}.` },
      ];
      const reply = await api.post('/documents/batch?wait=true', { documents });
      assert.equal(reply.status, 200, reply.text.slice(0, 500));
      const states = (reply.body as BatchWritten & { documents: Array<{ jobError?: { code: string } }> }).documents;
      assert.deepEqual(
        states.map((d) => [d.id, d.state, d.status]),
        [
          ['alone-0', 'searchable', 'ready'],
          ['alone-huge', 'failed', 'failed'],
          ['alone-2', 'searchable', 'ready'],
        ],
      );
      assert.equal(states[1]?.jobError?.code, 'too_many_chunks');
      assert.equal((await api.document('alone-huge'))?.status, 'failed');
      assert.equal((await search({ query: marker(9002), k: 3, mode: 'vector' })).results[0]?.documentId, 'alone-2');
    });

    it(`finds a document written with wait=true through whichever worker searches, ${PAIRS} times`, async () => {
      let misses = 0;
      const waits: number[] = [];
      for (let i = 0; i < PAIRS; i++) {
        const id = `pair-${i}`;
        const reply = await api.post('/documents?wait=true', { id, text: `Pair ${i} carries the marker ${marker(i)}.` });
        const w = written(reply, 200);
        assert.equal(w.state, 'searchable', reply.text);
        assert.equal(w.document.status, 'ready');
        waits.push(reply.ms);
        const found = await search({ query: marker(i), k: 5, mode: 'vector' });
        if (!found.results.some((hit) => hit.documentId === id) || found.seq < (w.seq ?? Infinity)) misses++;
      }
      assert.equal(misses, 0, `${misses} of ${PAIRS} searches after wait=true missed the document`);
      await waitFor(
        async () => ((await api.get('/status')).body as StatusBody).workers.filter((wk) => (wk.jobs?.['search']?.succeeded ?? 0) > 0).length === 2,
        { timeoutMs: 10_000, what: 'both workers to have answered searches' },
      );
      waits.sort((a, b) => a - b);
      const at = (q: number) => Math.round(waits[Math.floor(q * (waits.length - 1))] ?? 0);
      process.stdout.write(`# ${scenario.name}: POST /documents?wait=true until searchable in both workers: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms\n`);
    });

    it('answers 202 with the state so far when the wait times out', async () => {
      const long = Array.from({ length: 12_000 }, (_, i) => `word${i}`).join(' '); // ~1 500 chunks: far more than 1 ms of work
      const w = written(await api.post('/documents?wait=true&timeoutMs=1', { id: 'impatient', text: long }), 202);
      assert.ok(w.state === 'pending' || w.state === 'committed', JSON.stringify(w));
      assert.equal((await api.post('/documents?wait=maybe', { text: 'x' })).status, 400);
      assert.equal((await api.post('/documents?wait=true&timeoutMs=999999', { text: 'x' })).status, 400);
    });

    it('returns the chunks with spans that reproduce the document text, page by page and around one chunk', async () => {
      const sentences = Array.from({ length: 30 }, (_, i) => `Sentence ${i} of the long document, about ${marker(5000 + i)} and bees.`);
      const text = sentences.map((sentence, i) => (i === 0 ? sentence : `${i % 4 === 0 ? '\n\n' : ' '}${sentence}`)).join('');
      written(await api.post('/documents?wait=true', { id: 'long', text }), 200);
      const chunks: ChunksBody['chunks'] = [];
      let after: number | null = -1;
      while (after !== null) {
        const reply = await api.get(`/documents/long/chunks?limit=2${after >= 0 ? `&after=${after}` : ''}`);
        assert.equal(reply.status, 200, reply.text);
        const page = reply.body as ChunksBody;
        assert.ok(page.chunks.length <= 2);
        chunks.push(...page.chunks);
        after = page.nextAfter;
      }
      assert.ok(chunks.length > 5, `only ${chunks.length} chunks`);
      assert.deepEqual(
        chunks.map((c) => c.ordinal),
        chunks.map((_, i) => i),
      );
      const covered = new Array<boolean>(text.length).fill(false);
      for (const chunk of chunks) {
        assert.ok(chunk.start !== null && chunk.end !== null);
        assert.equal(text.slice(chunk.start, chunk.end), chunk.text, `chunk ${chunk.ordinal} is its span of the text`);
        for (let i = chunk.start; i < chunk.end; i++) covered[i] = true;
      }
      const uncovered = [...text].filter((ch, i) => !covered[i] && ch.trim() !== '');
      assert.equal(uncovered.length, 0, 'every non-space character lies in some chunk');
      const middle = chunks[3];
      assert.ok(middle);
      const around = (await api.get(`/documents/long/chunks?around=${middle.id}&n=1`)).body as ChunksBody;
      assert.deepEqual(
        around.chunks.map((c) => c.ordinal),
        [2, 3, 4],
      );
      const other = await api.get(`/documents/pair-0/chunks?around=${middle.id}`);
      assert.equal(other.status, 404, 'a chunk of another document');
      assert.equal((await api.get('/documents/nobody/chunks')).status, 404);
    });

    it('counts with the filter language, new operators included, as search filters', async () => {
      const docs = [
        { id: 'c-0', text: 'counted zero hive', metadata: { kit: 'count', tags: ['bees', 'honey'], n: 1 } },
        { id: 'c-1', text: 'counted one hive', metadata: { kit: 'count', tags: ['wasps'], n: 2, note: null } },
        { id: 'c-2', text: 'counted two hive', metadata: { kit: 'count', tags: 'bees', n: '3' } },
        { id: 'c-3', text: 'counted three hive', metadata: { kit: 'count' } },
      ];
      const reply = await api.post('/documents/batch?wait=true', { documents: docs });
      assert.equal(reply.status, 200, reply.text);
      const cases: Array<[unknown, string[]]> = [
        [{ kit: 'count' }, ['c-0', 'c-1', 'c-2', 'c-3']],
        [{ kit: 'count', tags: { $contains: 'bees' } }, ['c-0']], // a list holding it; not the string itself
        [{ kit: 'count', note: { $exists: true } }, ['c-1']], // an explicit null is present
        [{ kit: 'count', tags: { $exists: false } }, ['c-3']],
        [{ kit: 'count', n: { $not: { $gte: 2 } } }, ['c-0', 'c-2', 'c-3']],
        [{ kit: 'count', $not: { tags: { $contains: 'wasps' } } }, ['c-0', 'c-2', 'c-3']],
      ];
      for (const [where, ids] of cases) {
        assert.equal(await count(where), ids.length, JSON.stringify(where));
        const found = await search({ query: 'counted hive', k: 10, mode: 'lexical', where });
        assert.deepEqual(found.results.map((hit) => hit.documentId).sort(), ids, `search with ${JSON.stringify(where)}`);
        const vector = await search({ query: 'counted hive', k: 10, mode: 'vector', where });
        assert.deepEqual(vector.results.map((hit) => hit.documentId).sort(), ids, `vector search with ${JSON.stringify(where)}`);
      }
      const bad = await api.post('/documents/count', { where: { tags: { $contains: ['bees'] } } });
      assert.equal(bad.status, 400, bad.text);
      assert.match(bad.text, /where\.tags\.\$contains/);
    });

    it('updates metadata with PATCH: count and filtered search see it at once, nothing is embedded again', async () => {
      const before = written(await api.post('/documents?wait=true', { id: 'patched', text: 'the patched hive note', metadata: { team: 'red' } }), 200);
      const patched = await api.request('PATCH', '/documents/patched', { metadata: { team: 'blue', tags: ['moved'] } });
      assert.equal(patched.status, 200, patched.text);
      const view = patched.body as { metadata: unknown; revision: number; seq: number };
      assert.deepEqual(view.metadata, { team: 'blue', tags: ['moved'] });
      assert.equal(view.revision, 1, 'no new revision');
      assert.equal(view.seq, before.seq, 'no new commit to the index');
      assert.equal(await count({ team: 'blue', tags: { $contains: 'moved' } }), 1);
      assert.equal(await count({ team: 'red' }), 0);
      for (const mode of ['vector', 'lexical', 'hybrid']) {
        const blue = await search({ query: 'patched hive note', k: 5, mode, where: { team: 'blue' } });
        assert.deepEqual(
          blue.results.map((hit) => hit.documentId),
          ['patched'],
          mode,
        );
        assert.deepEqual((await search({ query: 'patched hive note', k: 5, mode, where: { team: 'red' } })).results, [], mode);
      }
      assert.equal((await api.request('PATCH', '/documents/nobody', { metadata: {} })).status, 404);
      assert.equal((await api.request('PATCH', '/documents/patched', { metadata: {}, text: 'no' })).status, 400);
    });

    it('waits for a removal too, and refuses a minSeq the log has not reached', async () => {
      const reply = await api.request('DELETE', '/documents/pair-1?wait=true');
      assert.equal(reply.status, 200, reply.text);
      const removal = reply.body as { state: string; seq: number };
      assert.equal(removal.state, 'searchable');
      const found = await search({ query: marker(1), k: 5, mode: 'vector', minSeq: removal.seq });
      assert.ok(!found.results.some((hit) => hit.documentId === 'pair-1'));
      const behind = await api.post('/search', { query: 'bees', minSeq: found.seq + 1_000_000 });
      assert.equal(behind.status, 409, behind.text);
      assert.equal((behind.body as { error: { code: string } }).error.code, 'index_behind');
    });
  });
}
