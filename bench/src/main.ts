/**
 * `npm run bench`: builds nothing itself (the npm script runs tsc first), starts a private redis-server
 * and the real web and worker processes, measures colmeia next to its raw libraries in one run, prints
 * the table to stdout (progress goes to stderr) and writes the JSON (raw samples' summaries, machine,
 * date). Benchmarks are not tests: it exits 0 whatever the figures say, and 1 only when it cannot run.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startRedisServer } from '../../test/support/redis-server.js';
import { parseBenchOptions, USAGE, type BenchPlan } from './bench-options.js';
import type { BenchContext } from './bench-context.js';
import { runCapacityPhase } from './capacity-phase.js';
import { runCollectionsPhase } from './collections-phase.js';
import { runCorpusPhase } from './corpus-phase.js';
import { runIngestPhase } from './ingest-phase.js';
import { runRetrievalPhase } from './retrieval-phase.js';
import { loadFactbookCorpus } from './factbook-corpus.js';
import { FigureBook } from './figure-book.js';
import { machineInfo } from './machine-info.js';
import { renderTable } from './render-table.js';
import { runSyntheticPhase } from './synthetic-phase.js';
import { runPgvectorPhase } from './pgvector-phase.js';

async function main(): Promise<number> {
  const plan = parseBenchOptions(process.argv.slice(2));
  if (plan.showHelp) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const startedAt = new Date();
  const machineAtStart = machineInfo();
  const book = new FigureBook();
  const progress = (message: string) => process.stderr.write(`[bench ${elapsed(startedAt)}] ${message}\n`);
  progress(`size ${plan.size}: index sizes ${plan.indexSizes.join(', ')}; ${machineAtStart.cores} cores, load ${machineAtStart.loadAverage.join(' ')}`);
  const corpus = loadFactbookCorpus({ dir: plan.corpusDir, variant: plan.corpusVariant });
  const redis = await startRedisServer();
  const ctx: BenchContext = { plan, book, redisUrl: redis.url, redisPid: redis.pid, apiKey: randomBytes(24).toString('hex'), progress };
  try {
    if (plan.phases.includes('ingest')) await runIngestPhase(ctx);
    if (plan.phases.includes('corpus')) await runCorpusPhase(ctx, corpus);
    else if (plan.phases.includes('quality')) await runRetrievalPhase(ctx, corpus);
    const queryTexts = corpus.queries.map((query) => query.text);
    if (plan.phases.includes('synthetic')) await runSyntheticPhase(ctx, queryTexts);
    if (plan.phases.includes('collections')) await runCollectionsPhase(ctx, queryTexts);
    if (plan.phases.includes('capacity')) await runCapacityPhase(ctx);
    if (plan.pgvectorUrl !== undefined) await runPgvectorPhase(ctx, plan.pgvectorUrl, queryTexts);
  } finally {
    await redis.close();
  }
  process.stdout.write(renderTable(book));
  const out = path.resolve(plan.out);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report(plan, book, startedAt, machineAtStart, corpus), null, 2)}\n`);
  progress(`done in ${elapsed(startedAt)}; JSON written to ${out}`);
  return 0;
}

function report(
  plan: BenchPlan,
  book: FigureBook,
  startedAt: Date,
  machineAtStart: ReturnType<typeof machineInfo>,
  corpus: ReturnType<typeof loadFactbookCorpus>,
) {
  const { showHelp: _showHelp, ...settings } = plan;
  return {
    date: startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1_000),
    machine: { ...machineAtStart, loadAverageAtEnd: machineInfo().loadAverage },
    plan: settings,
    corpus: {
      name: corpus.name,
      version: corpus.version,
      license: corpus.license,
      variant: corpus.variant,
      sections: corpus.sections,
      documents: corpus.documents.length,
      queries: corpus.queries.length,
    },
    processes: 'NODE_ENV=production, API key, LOG_LEVEL=info, EMBEDDER=builtin, ANSWERER=extractive, RATE_LIMIT_MAX raised; other settings at their defaults',
    figures: book.figures,
    skipped: book.skipped,
    targetsMissed: book.figures.filter((figure) => figure.target?.isMet === false).map((figure) => figure.id),
  };
}

function elapsed(since: Date): string {
  const seconds = Math.round((Date.now() - since.getTime()) / 1_000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
