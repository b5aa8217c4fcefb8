/**
 * Retrieval quality of each search mode (vector, lexical, hybrid) through POST /search, next to a
 * BM25 baseline computed here by MiniSearch over the same chunk texts the workers indexed (the
 * same chunker and settings, embed-corpus.ts), and search latency per mode. Scores are per task:
 * hit@10 (a chunk of the relevant document in the top 10) and MRR@10 (1/rank of the first one).
 */
import MiniSearch from 'minisearch';
import { z } from 'zod';
import type { BenchContext } from './bench-context.js';
import type { EmbeddedChunk } from './embed-corpus.js';
import type { RetrievalQuery } from './factbook-corpus.js';
import { target } from './figure-book.js';
import type { HttpClient } from './http-client.js';
import { summarize } from './summary.js';

const K = 10;
const MODES = ['vector', 'lexical', 'hybrid'] as const;
type Mode = (typeof MODES)[number];

export interface ModeTask {
  id: string; // figure key part: "factbook.sentence"
  description: string;
  queries: readonly RetrievalQuery[];
}

interface Quality {
  hit: number;
  mrr: number;
}

const SearchReply = z.object({ results: z.array(z.object({ documentId: z.string() })) });

export async function measureRetrievalModes(
  ctx: BenchContext,
  client: HttpClient,
  chunks: readonly EmbeddedChunk[],
  tasks: readonly ModeTask[],
): Promise<void> {
  const bm25 = new MiniSearch<EmbeddedChunk>({ idField: 'label', fields: ['text'], storeFields: ['documentId'] });
  bm25.addAll([...chunks]);
  const latencies = new Map<Mode, number[]>(MODES.map((mode) => [mode, []]));
  for (const task of tasks) {
    const baseline = scoreAll(task.queries, (query) => bm25.search(query.text).map((hit) => String(hit['documentId'])));
    const byMode = new Map<Mode, Quality>();
    for (const mode of MODES) {
      const ranked: string[][] = [];
      for (const query of task.queries) {
        const reply = await client.expect(200, 'POST', '/search', { query: query.text, k: K, mode });
        latencies.get(mode)?.push(reply.ms);
        ranked.push(SearchReply.parse(reply.body).results.map((hit) => hit.documentId));
      }
      byMode.set(
        mode,
        scoreAll(task.queries, (_, i) => ranked[i] ?? []),
      );
    }
    addTaskFigures(ctx, task, baseline, byMode);
  }
  addLatencyFigures(ctx, tasks, latencies);
}

function scoreAll(queries: readonly RetrievalQuery[], rank: (query: RetrievalQuery, i: number) => string[]): Quality {
  let hit = 0;
  let mrr = 0;
  queries.forEach((query, i) => {
    const position = rank(query, i).slice(0, K).indexOf(query.relevantDocumentId);
    if (position >= 0) {
      hit += 1;
      mrr += 1 / (position + 1);
    }
  });
  const n = Math.max(1, queries.length);
  return { hit: hit / n, mrr: mrr / n };
}

function addTaskFigures(ctx: BenchContext, task: ModeTask, baseline: Quality, byMode: ReadonlyMap<Mode, Quality>): void {
  const vectorMrr = byMode.get('vector')?.mrr ?? Number.NaN;
  for (const mode of MODES) {
    const quality = byMode.get(mode);
    if (!quality) continue;
    const raw = (value: number) => ({ name: 'BM25 (MiniSearch), same chunk texts', value, unit: '' });
    const isHybrid = mode === 'hybrid';
    ctx.book.add({
      id: `quality.modes.${task.id}.${mode}.mrr10`,
      section: '5 quality',
      name: `${task.id} MRR@10, mode ${mode}`,
      unit: '',
      value: quality.mrr,
      raw: raw(baseline.mrr),
      ...(isHybrid ? { target: target('≥ 1.05× BM25 and ≥ 1.05× vector', quality.mrr >= 1.05 * baseline.mrr && quality.mrr >= 1.05 * vectorMrr) } : {}),
      notes: `${task.description}; ${task.queries.length} queries`,
    });
    ctx.book.add({
      id: `quality.modes.${task.id}.${mode}.hit10`,
      section: '5 quality',
      name: `${task.id} hit@10, mode ${mode}`,
      unit: '',
      value: quality.hit,
      raw: raw(baseline.hit),
    });
  }
}

function addLatencyFigures(ctx: BenchContext, tasks: readonly ModeTask[], latencies: ReadonlyMap<Mode, number[]>): void {
  const vectorP50 = summarize(latencies.get('vector') ?? []).p50;
  for (const mode of MODES) {
    const summary = summarize(latencies.get(mode) ?? []);
    const limit = mode === 'hybrid' ? 1.3 : 1;
    ctx.book.add({
      id: `search.modes.${tasks[0]?.id.split('.')[0] ?? 'corpus'}.${mode}.p50`,
      section: '2 search',
      name: `POST /search p50, mode ${mode} (${tasks.map((t) => t.id).join(', ')})`,
      unit: 'ms',
      value: summary.p50,
      summary,
      raw: { name: 'mode vector p50, same queries', value: vectorP50, unit: 'ms' },
      ...(mode === 'vector' ? {} : { target: target(`≤ ${limit}× vector`, summary.p50 <= limit * vectorP50) }),
    });
  }
}
