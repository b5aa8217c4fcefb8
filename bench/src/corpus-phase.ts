/**
 * Items 1, 4 and 5 of the benchmark on the real corpus: ingest through HTTP (documents → ready; whole
 * profiles with one and with two workers, and section-sized documents with two) next to raw addPoint
 * of the same vectors; the builtin embedder's retrieval quality on the held-out-sentence task and
 * recall@10 on its real-text vectors; and push latency of chat answers over SSE next to 2 s polling.
 */
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../../shared/src/config.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { measurePushLatency } from '../../test/support/push-latency.js';
import { newStack, type BenchContext, type StackHandle } from './bench-context.js';
import { embedCorpus, type EmbeddedCorpus } from './embed-corpus.js';
import type { Corpus, CorpusDocument } from './factbook-corpus.js';
import { target } from './figure-book.js';
import { HttpClient } from './http-client.js';
import { ingestThroughHttp, type IngestRun } from './ingest-through-http.js';
import { cpuPerRequest, snapshotCpu } from './process-cpu.js';
import { measureRetrievalQuality } from './retrieval-quality.js';
import { measureRetrievalModes } from './retrieval-modes.js';
import { measureLexicalWriteCost } from './lexical-write-cost.js';
import { factbookTasks, measureSecondCorpus } from './retrieval-phase.js';
import { buildRawIndex, type RawBuild } from './raw-index.js';
import { summarize } from './summary.js';

const POLL_INTERVAL_MS = 2_000; // the replaced system's client polling
const INGEST_CONCURRENCY = 8; // POSTs in flight

interface IngestCase {
  workers: number;
  granularity: 'profiles' | 'sections'; // one document per country, or per profile section
}

export async function runCorpusPhase(ctx: BenchContext, corpus: Corpus): Promise<void> {
  const { book, progress } = ctx;
  const cases: IngestCase[] = [
    { workers: 1, granularity: 'profiles' },
    { workers: ctx.plan.workers, granularity: 'profiles' },
    { workers: ctx.plan.workers, granularity: 'sections' }, // kept running for the quality and push figures
  ];
  const baselines = await buildBaselines(ctx, corpus);
  for (const ingestCase of cases) {
    const { workers, granularity } = ingestCase;
    const baseline = baselines.get(granularity);
    if (!baseline) continue;
    const documents = granularity === 'profiles' ? corpus.profiles : corpus.documents;
    const handle = newStack(ctx, `corpus-${granularity}-${workers}w`);
    progress(`corpus: ingest of ${documents.length} ${granularity} documents through HTTP with ${workers} worker(s)`);
    const { run, client, db, cpuPerChunkMs } = await ingestWith(handle, ctx, documents, workers);
    const rawRate = baseline.raw.pointsPerSecond;
    const perDocument = run.chunks / run.documents;
    book.add({
      id: `ingest.http.${granularity}.${workers}w`,
      section: '1 ingest',
      name: `ingest through HTTP, ${workers} worker${workers > 1 ? 's' : ''}, ${corpus.name} ${granularity} (${perDocument.toFixed(1)} chunks/document)`,
      unit: 'chunks/s',
      value: run.chunksPerSecond,
      raw: { name: 'hnswlib addPoint, same vectors', value: rawRate, unit: 'chunks/s' },
      target: target('≥ 0.7× raw addPoint', run.chunksPerSecond >= 0.7 * rawRate),
      notes: `${run.documents} documents, ${run.chunks} chunks in ${(run.elapsedMs / 1_000).toFixed(1)} s, first POST → last ready; CPU per chunk (ms): ${describe(cpuPerChunkMs)}`,
      details: { ...run, chunksInProcess: baseline.embedded.chunks.length, cpuPerChunkMs },
    });
    if (granularity === 'sections') await qualityAndPush(ctx, handle, client, corpus, baseline.embedded, baseline.raw);
    client.close();
    await db.destroy();
    await handle.dispose();
  }
  await measureSecondCorpus(ctx);
  for (const [granularity, { embedded, raw }] of baselines) {
    book.add({
      id: `ingest.embed.${granularity}`,
      section: '1 ingest',
      name: `builtin embedder alone, in-process, ${granularity} chunks`,
      unit: 'chunks/s',
      value: (embedded.vectors.length / embedded.embedMs) * 1_000,
      raw: { name: 'hnswlib addPoint, same vectors', value: raw.pointsPerSecond, unit: 'chunks/s' },
      notes: 'where ingest time goes: embedding next to graph insertion',
    });
  }
}

/** Per granularity: the corpus chunked and embedded in-process, and raw addPoint of the same vectors. */
async function buildBaselines(ctx: BenchContext, corpus: Corpus): Promise<Map<IngestCase['granularity'], { embedded: EmbeddedCorpus; raw: RawBuild }>> {
  const config = loadConfig({}); // the settings the processes run with: the defaults
  const baselines = new Map<IngestCase['granularity'], { embedded: EmbeddedCorpus; raw: RawBuild }>();
  for (const granularity of ['profiles', 'sections'] as const) {
    const documents = granularity === 'profiles' ? corpus.profiles : corpus.documents;
    ctx.progress(`corpus: chunking, embedding and raw addPoint of ${documents.length} ${granularity} documents in-process`);
    const embedded = await embedCorpus(documents, config);
    const raw = buildRawIndex(
      embedded.vectors,
      embedded.chunks.map((chunk) => chunk.label),
      rawParams(config),
    );
    baselines.set(granularity, { embedded, raw });
  }
  return baselines;
}

interface IngestOutcome {
  run: IngestRun;
  client: HttpClient;
  db: Knex;
  cpuPerChunkMs: Record<string, number>;
}

async function ingestWith(handle: StackHandle, ctx: BenchContext, documents: readonly CorpusDocument[], workers: number): Promise<IngestOutcome> {
  for (let i = 0; i < workers; i++) await handle.stack.startWorker();
  await handle.stack.startWeb();
  const client = new HttpClient(handle.stack.url, ctx.apiKey);
  const db = await openDatabase(handle.config, handle.logger, { migrate: false });
  const pids: Record<string, number> = { web: handle.stack.webPid, redis: ctx.redisPid, client: process.pid };
  handle.stack.workers.forEach((worker, i) => (pids[`worker ${i + 1}`] = worker.process.pid));
  const before = snapshotCpu(pids);
  const run = await ingestThroughHttp(db, client, documents, { concurrency: INGEST_CONCURRENCY, timeoutMs: 30 * 60_000 });
  const cpuPerChunkMs = cpuPerRequest(before, snapshotCpu(pids), run.chunks);
  if (run.failed > 0) throw new Error(`${run.failed} corpus documents failed to ingest`);
  return { run, client, db, cpuPerChunkMs };
}

function describe(perChunk: Record<string, number>): string {
  return Object.entries(perChunk)
    .map(([role, ms]) => `${role} ${ms.toFixed(2)}`)
    .join(', ');
}

async function qualityAndPush(
  ctx: BenchContext,
  handle: StackHandle,
  client: HttpClient,
  corpus: Corpus,
  embedded: EmbeddedCorpus,
  raw: RawBuild,
): Promise<void> {
  const { book, progress, plan } = ctx;
  progress(`corpus: retrieval task, ${corpus.queries.length} held-out sentences`);
  await measureRetrievalQuality(ctx, client, corpus, embedded, raw.hnsw, handle.config.HNSW_EF_SEARCH);
  progress('corpus: retrieval modes against BM25');
  await measureRetrievalModes(ctx, client, embedded.chunks, factbookTasks(corpus));
  await measureLexicalWriteCost(ctx, 'factbook', corpus.documents, embedded);

  progress(`corpus: push latency, ${plan.pushSamples} answers over SSE`);
  const session = await client.expect(201, 'POST', '/chat/sessions', {});
  const sessionId = idOf(session.body);
  const push = await measurePushLatency({
    postBase: client.baseUrl,
    streamBase: client.baseUrl,
    sessionId,
    questions: plan.pushSamples,
    question: (i) => corpus.queries[i % corpus.queries.length]?.text ?? `question ${i}`,
    headers: { authorization: `Bearer ${ctx.apiKey}` },
  });
  const latency = summarize(push.latencies);
  const note = 'answer row created_at (ms, truncated) → SSE event arrival; covers commit, publish, fan-out, write';
  book.add({
    id: 'push.p50',
    section: '4 push',
    name: 'push latency p50 (answer stored → SSE client)',
    unit: 'ms',
    value: latency.p50,
    summary: latency,
    raw: { name: '2 s polling, mean wait (arithmetic)', value: POLL_INTERVAL_MS / 2, unit: 'ms' },
    target: target('≤ 3 ms', latency.p50 <= 3),
    notes: note,
  });
  book.add({
    id: 'push.p99',
    section: '4 push',
    name: 'push latency p99',
    unit: 'ms',
    value: latency.p99,
    summary: latency,
    raw: { name: '2 s polling, p99 wait (arithmetic)', value: POLL_INTERVAL_MS * 0.99, unit: 'ms' },
    target: target('≤ 15 ms', latency.p99 <= 15),
  });
  const roundTrip = summarize(push.roundTrips);
  book.add({
    id: 'push.roundtrip.p50',
    section: '4 push',
    name: 'question POST → answer on SSE, p50 (extractive answerer)',
    unit: 'ms',
    value: roundTrip.p50,
    summary: roundTrip,
    notes: 'queue hop, retrieval, answer, store and push',
  });
}

function rawParams(config: Config) {
  return { dimension: config.BUILTIN_EMBED_DIM, m: config.HNSW_M, efConstruction: config.HNSW_EF_CONSTRUCTION };
}

function idOf(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'id' in body && typeof body.id === 'string') return body.id;
  throw new Error(`POST /chat/sessions answered no id: ${JSON.stringify(body)}`);
}
