/**
 * Section 10, with `--pgvector URL` only: the synthetic phase's data in pgvector (pgvector-baseline.ts),
 * next to colmeia's figures of the same run. It runs after the other phases so it never shares the
 * machine with them; where a colmeia figure was not measured in this run, only pgvector's own is kept.
 */
import { lowRankVectors } from '../../test/support/low-rank-vectors.js';
import { createBuiltinEmbedder } from '../../worker/src/embedders/builtin.js';
import type { BenchContext } from './bench-context.js';
import { target, type Figure, type FigureBook } from './figure-book.js';
import { measurePgvector, pgvectorAvailability, type PgvectorRun } from './pgvector-baseline.js';
import { loadConfig } from '../../shared/src/config.js';
import { syntheticGroups } from './synthetic-documents.js';
import { SELECTIVITIES, K } from './synthetic-http.js';
import { sizeLabel } from './synthetic-figures.js';

const SECTION = '10 beside pgvector' as const;

export async function runPgvectorPhase(ctx: BenchContext, url: string, queryTexts: readonly string[]): Promise<void> {
  const available = await pgvectorAvailability(url);
  if ('reason' in available) {
    ctx.book.skip({ id: 'pgvector', section: SECTION, name: 'pgvector baseline', reason: available.reason });
    return;
  }
  const config = loadConfig({ NODE_ENV: 'test' });
  const embedder = createBuiltinEmbedder(config.BUILTIN_EMBED_DIM);
  const queries = await embedder.embed([...queryTexts]); // the very vectors colmeia's HTTP searches embed
  const sizes = [...new Set([ctx.plan.ingestDocuments, ...ctx.plan.indexSizes])].sort((a, b) => a - b);
  for (const size of sizes) {
    ctx.progress(`pgvector ${available.version} ${size}: insert, HNSW build, searches`);
    const vectors = lowRankVectors(size, embedder.dimension, 7); // the synthetic phase's, in its order
    const run = await measurePgvector(
      {
        url,
        m: config.HNSW_M,
        efConstruction: config.HNSW_EF_CONSTRUCTION,
        ef: config.HNSW_EF_SEARCH,
        k: K,
        samples: ctx.plan.httpSamples,
        seconds: ctx.plan.autocannonSeconds,
        connections: ctx.plan.autocannonConnections,
      },
      { vectors, groups: syntheticGroups(size), queries, percents: SELECTIVITIES },
    );
    ctx.progress(`pgvector ${size}: ${Math.round(run.docsPerSecond)} docs/s, search p50 ${run.search.p50.toFixed(2)} ms`);
    addPgvectorFigures(ctx.book, run, size === ctx.plan.ingestDocuments);
  }
}

function addPgvectorFigures(book: FigureBook, run: PgvectorRun, isIngestSize: boolean): void {
  const { size } = run;
  const at = sizeLabel(size);
  const find = (id: string): Figure | undefined => book.figures.find((figure) => figure.id === id);
  const pgName = (what: string) => `pgvector ${run.version}: ${what}`;
  book.add({
    id: `pgvector.ingest.${size}`,
    section: SECTION,
    name: `pgvector insert + HNSW build until searchable, ${at} one-chunk documents`,
    unit: 'docs/s',
    value: run.docsPerSecond,
    notes: `insert ${Math.round(run.insertMs)} ms (batches of 1,000), index build ${Math.round(run.buildMs)} ms`,
  });
  const compare = (id: string, name: string, raw: { what: string; value: number; unit: string }, extra: Partial<Figure> = {}) => {
    const ours = find(id);
    if (!ours) return;
    book.add({
      id: `pgvector.${id}`,
      section: SECTION,
      name,
      unit: ours.unit,
      value: ours.value,
      raw: { name: pgName(raw.what), value: raw.value, unit: raw.unit },
      ...extra,
    });
  };
  if (isIngestSize) {
    const rate = { what: 'insert + HNSW build, same count', value: run.docsPerSecond, unit: 'docs/s' };
    const batch = find(`ingest.write.batch.${size}`);
    compare(`ingest.write.batch.${size}`, `ingest through POST /documents/batch, ${at} documents`, rate, {
      target: target('≥ 1.0× pgvector', (batch?.value ?? 0) >= run.docsPerSecond),
    });
    const single = find(`ingest.write.single.${size}`);
    compare(`ingest.write.single.${size}`, `ingest, one POST /documents each, ${at} documents`, rate, {
      target: target('≥ 0.5× pgvector', (single?.value ?? 0) >= 0.5 * run.docsPerSecond),
    });
  }
  compare(`search.http.p50.${size}`, `POST /search p50, ${at} chunks`, { what: 'SELECT … ORDER BY <=> LIMIT 10, p50', value: run.search.p50, unit: 'ms' });
  compare(`search.http.p99.${size}`, `POST /search p99, ${at}`, { what: 'the same, p99', value: run.search.p99, unit: 'ms' });
  compare(`search.http.throughput.${size}`, `POST /search throughput, ${at}, 16 connections`, {
    what: 'the same from 16 connections',
    value: run.throughput,
    unit: 'searches/s',
  });
  addFilteredComparisons(book, run, find, pgName);
}

/** Filtered p50 next to pgvector's; at 1 % the target is pgvector's p50 plus colmeia's HTTP floor (HTTP p50 − in-process p50, unfiltered). */
function addFilteredComparisons(book: FigureBook, run: PgvectorRun, find: (id: string) => Figure | undefined, pgName: (what: string) => string): void {
  const { size } = run;
  const http = find(`search.http.p50.${size}`);
  const inProcess = find(`search.inprocess.${size}`);
  const floor = http && inProcess ? http.value - inProcess.value : undefined;
  for (const { percent, summary, shortAnswers } of run.filtered) {
    const ours = find(`filter.http.${percent}.${size}`);
    if (!ours) continue;
    const limit = floor === undefined ? undefined : summary.p50 + floor;
    book.add({
      id: `pgvector.filter.${percent}.${size}`,
      section: SECTION,
      name: `POST /search p50, ${percent} % filter on a declared field, ${sizeLabel(size)}`,
      unit: 'ms',
      value: ours.value,
      raw: { name: pgName(`WHERE grp < ${percent} (btree), iterative scan, p50`), value: summary.p50, unit: 'ms', summary },
      ...(percent === 1 && limit !== undefined ? { target: target(`≤ pgvector + HTTP floor (${floor?.toFixed(2)} ms)`, ours.value <= limit) } : {}),
      notes: `pgvector answers with fewer than 10 rows: ${shortAnswers} of ${summary.n}`,
    });
  }
}
