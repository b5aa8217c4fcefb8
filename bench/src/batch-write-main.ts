/**
 * `npm run bench:batch`: how a batch of documents is best ingested, measured end to end (HTTP in,
 * until searchable through both workers: POST …?wait=true) on one web and two workers (SQLite).
 * "a job per document": the documents as concurrent POST /documents?wait=true, one ingest job each.
 * "one batch job": POST /documents/batch?wait=true, one ingest-batch job and one commit for all
 * (what the API does). "one document": the same texts as one document, the floor of one job.
 */
import { startRedisServer } from '../../test/support/redis-server.js';
import { startWeb, startWorker, tempDataDir } from '../../test/support/service-processes.js';

const SIZES = [10, 100];
const ROUNDS = 5;
const WORDS = ['hive', 'comb', 'nectar', 'pollen', 'queen', 'drone', 'worker', 'wax', 'brood', 'swarm', 'forage', 'honey'];

function text(doc: number, round: number): string {
  const words = Array.from({ length: 140 }, (_, i) => WORDS[(doc * 7 + i * 3 + round) % WORDS.length] ?? 'bee');
  return `Note ${round}-${doc}: ${words.join(' ')}.`; // about 900 characters: one chunk at the default CHUNK_SIZE
}

async function timed(url: string, path: string, body: unknown): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.text();
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${answer.slice(0, 300)}`);
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const redis = await startRedisServer();
const dataDir = tempDataDir('colmeia-bench-batch-');
const env = { REDIS_URL: redis.url, DATA_DIR: dataDir, QUEUE_PREFIX: 'bench-batch', RATE_LIMIT_MAX: '1000000' };
const web = await startWeb(env);
const workers = [await startWorker(env), await startWorker(env)];
try {
  await web.waitForHttp(web.url);
  await Promise.all(workers.map((w) => w.waitForLine(/worker ready/, 30_000)));
  await timed(web.url, '/documents?wait=true', { id: 'warm-up', text: text(0, 0) });
  for (const size of SIZES) {
    const perDocument: number[] = [];
    const batchJob: number[] = [];
    const oneDocument: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const docs = (kind: string) => Array.from({ length: size }, (_, i) => ({ id: `r${round}-n${size}-${kind}${i}`, text: text(i, round) }));
      const started = performance.now();
      await Promise.all(docs('j').map((doc) => timed(web.url, '/documents?wait=true', doc)));
      perDocument.push(performance.now() - started);
      batchJob.push(await timed(web.url, '/documents/batch?wait=true', { documents: docs('b') }));
      oneDocument.push(
        await timed(web.url, '/documents?wait=true', {
          id: `r${round}-n${size}-all`,
          text: docs('o')
            .map((d) => d.text)
            .join('\n\n'),
        }),
      );
    }
    const ms = (values: number[]) => `${median(values).toFixed(0)} ms`;
    process.stdout.write(
      `${size} documents until searchable (median of ${ROUNDS}): a job per document ${ms(perDocument)}, one batch job ${ms(batchJob)}, one document ${ms(oneDocument)}\n`,
    );
  }
} finally {
  await Promise.allSettled([web.close(), ...workers.map((w) => w.close())]);
  await redis.stop();
}
