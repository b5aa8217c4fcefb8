/**
 * The problem colmeia exists to solve: several workers, one truth. Real web and worker processes
 * share one database; after an ingest job succeeds, a search for a word unique to that document
 * finds it whichever worker answers and whichever side searches (vector, lexical, both fused), and a
 * removal through one worker is never undone by another.
 * On SQLite the workers share a DATA_DIR (one host); on Postgres each has its own (hosts whose
 * disks are not shared).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceProcess } from '../support/service-processes.js';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient, reportFigure, type Reply } from './jobs-harness.js';

const KEY = 'index-consistency-key';
const MODES = ['hybrid', 'lexical', 'vector'] as const; // the lexical side lives in SQL, the vector side in each worker

function marker(i: number): string {
  return `qz${(i * 104729 + 7).toString(36)}k${i}`;
}

function text(i: number): string {
  return `Field note ${i}. The colony stored ${i % 2 === 0 ? 'clover' : 'heather'} honey this week. Unique marker ${marker(i)} for this note.`;
}

const scenarios = [
  { name: 'SQLite, two workers on one host', documents: 200, postgres: false },
  ...(process.env['TEST_DATABASE_URL'] ? [{ name: 'Postgres, two workers with their own disks', documents: 80, postgres: true }] : []),
];

for (const scenario of scenarios) {
  describe(`index consistency: ${scenario.name}`, () => {
    let stack: ServiceStack | undefined;
    let workers: ServiceProcess[] = [];
    let api: ApiClient;

    before(async () => {
      stack = await startServiceStack({
        env: { API_KEYS: KEY, QUEUE_PREFIX: 'consistency', LOG_LEVEL: 'debug', SEARCH_CONCURRENCY: '4', RATE_LIMIT_MAX: '1000000' },
        workers: 2,
        postgres: scenario.postgres,
      });
      const { web } = stack;
      workers = stack.workers;
      api = new ApiClient(() => web.url, KEY);
    });

    after(async () => {
      await stack?.close();
    });

    it('finds each document by its unique word right after its ingest job succeeds, in every mode, whichever worker answers', async (t) => {
      const posted = await Promise.all(
        Array.from({ length: scenario.documents }, async (_, i) => {
          const reply = await postUntilAccepted(api, '/documents', {
            id: `note-${i}`,
            text: text(i),
            metadata: { parity: i % 2 === 0 ? 'even' : 'odd', n: i },
          });
          assert.equal(reply.status, 202, reply.text);
          return { i, job: (reply.body as { job: { queue: string; id: string } }).job }; // POSTs that arrive together share an ingest-batch job
        }),
      );
      let misses = 0;
      const answeredBy = new Set<number>();
      await runLimited(posted, 8, async ({ i, job }) => {
        await waitFor(async () => (await api.job(job.queue, job.id)).status === 'succeeded', {
          timeoutMs: 60_000,
          intervalMs: 20,
          what: `ingest of note-${i}`,
        });
        for (const mode of MODES) {
          const reply = await api.post('/search', { query: marker(i), k: 3, mode });
          assert.equal(reply.status, 200, reply.text);
          const body = reply.body as { results: Array<{ documentId: string; lexicalRank: number | null }> };
          if (body.results[0]?.documentId !== `note-${i}`) misses++;
          if (mode !== 'vector' && body.results[0]?.lexicalRank !== 1) misses++; // the exact rare word is the lexical side's first hit
        }
      });
      for (const [n, worker] of workers.entries())
        if (worker.lines.some((line) => line.includes('"queue":"search"') && line.includes('job succeeded'))) answeredBy.add(n);
      reportFigure(t, 'search_after_ingest_misses', { misses, documents: scenario.documents, workers_answering: answeredBy.size });
      assert.equal(misses, 0);
      assert.equal(answeredBy.size, 2, 'both workers answered searches');
    });

    it('never returns documents removed by metadata through one worker, from either worker, in any mode', async (t) => {
      const reply = await api.post('/documents/delete', { where: { parity: 'odd' } });
      assert.equal(reply.status, 202, reply.text);
      const jobId = (reply.body as { job: { id: string } }).job.id;
      await waitFor(async () => (await api.job('remove', jobId)).status === 'succeeded', { timeoutMs: 30_000, intervalMs: 20, what: 'removal' });
      const outcome = await api.job('remove', jobId);
      assert.equal((outcome.result as { documents: number }).documents, scenario.documents / 2);
      let resurrected = 0;
      const odd = Array.from({ length: scenario.documents / 2 }, (_, n) => 2 * n + 1);
      await runLimited(odd, 8, async (i) => {
        for (const mode of MODES) {
          const search = await api.post('/search', { query: marker(i), k: 5, mode });
          const body = search.body as { results: Array<{ documentId: string }> };
          resurrected += body.results.filter((hit) => Number(hit.documentId.slice(5)) % 2 === 1).length;
        }
      });
      reportFigure(t, 'removed_documents_returned', { resurrected, searches: odd.length });
      assert.equal(resurrected, 0);
    });
  });
}

async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await work(item);
      }
    }),
  );
}

/**
 * POSTs until the write is acknowledged, as a client does after a 503 (Redis slower than the web's
 * save bound on a loaded machine): the document row is stored again as a new revision, whose job is
 * the one waited for. At most 5 tries, each after the Retry-After the service gave (capped at 2 s).
 */
async function postUntilAccepted(api: ApiClient, path: string, body: unknown): Promise<Reply> {
  for (let attempt = 1; ; attempt++) {
    const reply = await api.post(path, body);
    if (reply.status !== 503 || attempt === 5) return reply;
    await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 1_000 * Number(reply.headers.get('retry-after') ?? '1'))));
  }
}
