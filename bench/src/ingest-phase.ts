/**
 * Item 1's write figures: N one-chunk documents (synthetic texts, builtin embedder) into a fresh
 * service of one web and two workers, through POST /documents/batch and through one POST per
 * document, each until searchable through both workers (write-ingest.ts). Targets: the batch API at
 * ≥ 1,100 docs/s (pgvector's insert + HNSW build on this machine), single POSTs at ≥ 0.5× that.
 */
import { loadConfig } from '../../shared/src/config.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { newStack, type BenchContext } from './bench-context.js';
import { target } from './figure-book.js';
import { HttpClient } from './http-client.js';
import { embedTexts } from './embed-corpus.js';
import { cpuPerRequest, snapshotCpu } from './process-cpu.js';
import { buildRawIndex } from './raw-index.js';
import { oneChunkText, writeAndWait, type WriteRun } from './write-ingest.js';

const BATCH_TARGET = 1_100; // docs/s: pgvector's insert + HNSW build of one-chunk documents, measured on this machine
const BATCHES_IN_FLIGHT = 4;
const SINGLES_IN_FLIGHT = 16;

interface WriteCase {
  kind: 'batch' | 'single';
  perRequest: number;
  inFlight: number;
}

export async function runIngestPhase(ctx: BenchContext): Promise<void> {
  const documents = ctx.plan.ingestDocuments;
  const rawRate = await rawAddPointRate(ctx, documents);
  const runs = new Map<WriteCase['kind'], WriteRun>();
  for (const kind of ['batch', 'single'] as const) {
    const handle = newStack(ctx, `write-${kind}`);
    const writeCase: WriteCase =
      kind === 'batch'
        ? { kind, perRequest: handle.config.MAX_BATCH_DOCUMENTS, inFlight: BATCHES_IN_FLIGHT }
        : { kind, perRequest: 1, inFlight: SINGLES_IN_FLIGHT };
    try {
      for (let i = 0; i < ctx.plan.workers; i++) await handle.stack.startWorker();
      const web = await handle.stack.startWeb();
      const client = new HttpClient(handle.stack.url, ctx.apiKey);
      const db = await openDatabase(handle.config, handle.logger, { migrate: false });
      const pids: Record<string, number> = { web: handle.stack.webPid, redis: ctx.redisPid, client: process.pid };
      handle.stack.workers.forEach((worker, i) => (pids[`worker ${i + 1}`] = worker.process.pid));
      ctx.progress(`ingest: ${documents} one-chunk documents, ${writeCase.perRequest} per request, ${writeCase.inFlight} in flight`);
      const before = snapshotCpu(pids);
      const plan = { documents, perRequest: writeCase.perRequest, inFlight: writeCase.inFlight, timeoutMs: 30 * 60_000 };
      const run = await writeAndWait(db, client, ctx.redisUrl, handle.config.QUEUE_PREFIX, plan).catch((err: unknown) => {
        throw new Error(`${kind} ingest failed; the web process's last lines:\n${web.tail()}`, { cause: err });
      });
      const cpuPerDocumentMs = cpuPerRequest(before, snapshotCpu(pids), documents);
      ctx.progress(`ingest: ${kind} ${Math.round(run.docsPerSecond)} docs/s; CPU ms per document ${JSON.stringify(cpuPerDocumentMs)}`);
      runs.set(kind, run);
      addFigure(ctx, writeCase, run, cpuPerDocumentMs, { batch: runs.get('batch'), rawRate });
      client.close();
      await db.destroy();
    } finally {
      await handle.dispose();
    }
  }
}

/**
 * hnswlib addPoint of the same texts' builtin vectors in this process, per second: every worker adds
 * every document to its own index, so with two workers on two cores it is about the ceiling.
 */
async function rawAddPointRate(ctx: BenchContext, documents: number): Promise<number> {
  const config = loadConfig({}); // the settings the processes run with: the defaults
  ctx.progress(`ingest: raw addPoint of ${documents} builtin vectors in-process`);
  const vectors = await embedTexts(
    Array.from({ length: documents }, (_, i) => oneChunkText(i)),
    config.BUILTIN_EMBED_DIM,
  );
  const raw = buildRawIndex(
    vectors,
    vectors.map((_, i) => i + 1),
    { dimension: config.BUILTIN_EMBED_DIM, m: config.HNSW_M, efConstruction: config.HNSW_EF_CONSTRUCTION },
  );
  return raw.pointsPerSecond;
}

interface Baselines {
  batch: WriteRun | undefined; // the batch API's run, for the single POSTs' ratio
  rawRate: number; // addPoint/s in-process
}

function addFigure(ctx: BenchContext, writeCase: WriteCase, run: WriteRun, cpuPerDocumentMs: Record<string, number>, { batch, rawRate }: Baselines): void {
  const cpu = Object.entries(cpuPerDocumentMs)
    .map(([role, ms]) => `${role} ${ms.toFixed(2)}`)
    .join(', ');
  const notes = `${run.documents} documents in ${run.requests} requests (${writeCase.inFlight} in flight, ${run.retried} retried after a 503), searchable through ${ctx.plan.workers} workers in ${(run.searchableMs / 1_000).toFixed(1)} s (all ready at ${(run.readyMs / 1_000).toFixed(1)} s); CPU per document (ms): ${cpu}`;
  const details = { ...run, perRequest: writeCase.perRequest, inFlight: writeCase.inFlight, cpuPerDocumentMs };
  if (writeCase.kind === 'batch') {
    ctx.book.add({
      id: `ingest.write.batch.${run.documents}`,
      section: '1 ingest',
      name: `ingest of one-chunk documents through POST /documents/batch (${writeCase.perRequest} per request), until searchable`,
      unit: 'docs/s',
      value: run.docsPerSecond,
      raw: { name: 'hnswlib addPoint of the same vectors, in-process (each worker adds every one)', value: rawRate, unit: 'docs/s' },
      target: target(`≥ ${BATCH_TARGET.toLocaleString('en')} docs/s`, run.docsPerSecond >= BATCH_TARGET),
      notes,
      details,
    });
    return;
  }
  const batchRate = batch?.docsPerSecond ?? BATCH_TARGET;
  ctx.book.add({
    id: `ingest.write.single.${run.documents}`,
    section: '1 ingest',
    name: 'ingest of one-chunk documents, one POST /documents each, until searchable',
    unit: 'docs/s',
    value: run.docsPerSecond,
    raw: { name: 'the same through POST /documents/batch', value: batchRate, unit: 'docs/s' },
    target: target('≥ 0.5× the batch API', run.docsPerSecond >= 0.5 * batchRate),
    notes,
    details,
  });
}
