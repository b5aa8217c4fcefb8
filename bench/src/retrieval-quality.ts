/**
 * Item 5 on real text: the held-out-sentence task (see factbook-corpus.ts) scored through POST /search
 * (the whole system: chunker, builtin embedder, HNSW at default ef), next to exact search over the same
 * vectors (the embedder's own ceiling); and recall@10 of the system's results against that exact
 * search, next to raw hnswlib on the same vectors and ef.
 */
import { z } from 'zod';
import type { BenchContext } from './bench-context.js';
import { embedTexts, type EmbeddedCorpus } from './embed-corpus.js';
import { ExactIndex, recallAt } from './exact-index.js';
import type { Corpus, RetrievalQuery } from './factbook-corpus.js';
import { target } from './figure-book.js';
import type { HttpClient } from './http-client.js';
import { searchLabels, type Hnsw } from './raw-index.js';
import { summarize } from './summary.js';

const K = 10;

const SearchReply = z.object({
  results: z.array(z.object({ documentId: z.string(), chunkId: z.number(), text: z.string() })),
});

interface Scores {
  hits: number;
  reciprocalRanks: number;
  countryHits: number;
}

interface Tally {
  system: Scores; // POST /search
  ceiling: Scores; // exact search over the same vectors
  systemRecall: number[];
  rawRecall: number[];
  latencies: number[];
}

export async function measureRetrievalQuality(
  ctx: BenchContext,
  client: HttpClient,
  corpus: Corpus,
  embedded: EmbeddedCorpus,
  raw: Hnsw,
  ef: number,
): Promise<void> {
  const tally = await runQueries(client, corpus, embedded, raw, ef);
  addTaskFigures(ctx, corpus, embedded, tally);
  addRecallFigure(ctx, corpus.queries.length, ef, tally);
}

/** Every held-out query through POST /search, scored next to exact search; raw hnswlib recall beside it. */
async function runQueries(client: HttpClient, corpus: Corpus, embedded: EmbeddedCorpus, raw: Hnsw, ef: number): Promise<Tally> {
  const dimension = embedded.vectors[0]?.length ?? 0;
  const exact = new ExactIndex(
    embedded.vectors,
    embedded.chunks.map((chunk) => chunk.label),
    dimension,
  );
  const labelOf = new Map(embedded.chunks.map((chunk) => [keyOf(chunk.documentId, chunk.text), chunk.label]));
  const queries = corpus.queries;
  const vectors = await embedTexts(
    queries.map((query) => query.text),
    dimension,
  );
  raw.setEf(ef);
  const tally: Tally = {
    system: { hits: 0, reciprocalRanks: 0, countryHits: 0 },
    ceiling: { hits: 0, reciprocalRanks: 0, countryHits: 0 },
    systemRecall: [],
    rawRecall: [],
    latencies: [],
  };
  const { system, ceiling, systemRecall, rawRecall, latencies } = tally;
  for (const [i, query] of queries.entries()) {
    const vector = vectors[i] ?? [];
    const reply = await client.expect(200, 'POST', '/search', { query: query.text, k: K, mode: 'vector' }); // the vector index's figures, next to exact search
    latencies.push(reply.ms);
    const results = SearchReply.parse(reply.body).results;
    score(
      system,
      query,
      results.map((hit) => hit.documentId),
    );
    const truth = exact.topK(vector, K);
    score(
      ceiling,
      query,
      truth.map((hit) => embedded.chunks[hit.label]?.documentId ?? ''),
    );
    const scoreOf = (label: number) => exact.score(vector, label);
    systemRecall.push(
      recallAt(
        results.map((hit) => labelOf.get(keyOf(hit.documentId, hit.text)) ?? -1),
        truth,
        scoreOf,
      ),
    );
    rawRecall.push(recallAt(searchLabels(raw, vector, K), truth, scoreOf));
  }
  return tally;
}

function addTaskFigures(ctx: BenchContext, corpus: Corpus, embedded: EmbeddedCorpus, { system, ceiling }: Tally): void {
  const n = corpus.queries.length;
  const task = `${n} held-out Background sentences of ${corpus.name} ${corpus.version} (${corpus.variant}), ${embedded.chunks.length} chunks`;
  const exactName = 'exact search, same vectors';
  const add = (id: string, name: string, value: number, rawValue: number) =>
    ctx.book.add({ id, section: '5 quality', name, unit: '', value, raw: { name: exactName, value: rawValue, unit: '' }, notes: task });
  add('quality.task.hit10', 'retrieval task hit@10 via POST /search (source passage in top 10)', system.hits / n, ceiling.hits / n);
  add('quality.task.mrr10', 'retrieval task MRR@10 via POST /search', system.reciprocalRanks / n, ceiling.reciprocalRanks / n);
  add('quality.task.country10', 'retrieval task country@10 (any section of the same profile)', system.countryHits / n, ceiling.countryHits / n);
}

function addRecallFigure(ctx: BenchContext, n: number, ef: number, { systemRecall, rawRecall, latencies }: Tally): void {
  const recall = mean(systemRecall);
  ctx.book.add({
    id: 'quality.recall.text',
    section: '5 quality',
    name: `recall@10 at default ef (${ef}), builtin vectors of real text, via POST /search`,
    unit: '',
    value: recall,
    raw: { name: 'hnswlib searchKnn, same vectors and ef', value: mean(rawRecall), unit: '' },
    target: target('≥ 0.98', recall >= 0.98),
    notes: `against exact top 10 (ties counted), ${n} queries`,
    details: { searchLatencyMs: summarize(latencies) },
  });
}

function score(scores: Scores, query: RetrievalQuery, rankedDocumentIds: readonly string[]): void {
  const rank = rankedDocumentIds.slice(0, K).indexOf(query.relevantDocumentId);
  if (rank >= 0) {
    scores.hits += 1;
    scores.reciprocalRanks += 1 / (rank + 1);
  }
  if (rankedDocumentIds.slice(0, K).some((id) => id.startsWith(`fb-${query.country}-`))) scores.countryHits += 1;
}

function keyOf(documentId: string, text: string): string {
  return `${documentId}\u0000${text}`;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((total, value) => total + value, 0) / values.length;
}
