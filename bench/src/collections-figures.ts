/**
 * The collections phase's figures: a collection's search latency beside a ten-times larger one next
 * to the same searches in a service holding it alone (target ≤ 1.1×, both measured in the same run),
 * and a worker's start with many small collections from checkpoints (target ≤ 2 s) next to the same
 * start with no checkpoints, every index rebuilt from SQL.
 */
import type { FigureBook } from './figure-book.js';
import { target } from './figure-book.js';
import type { ManyCollectionsResult, WorkerStartTiming } from './collections-start.js';
import type { NeighbourResult } from './collections-neighbour.js';
import { summarize } from './summary.js';

const SEARCH_RATIO_TARGET = 1.1;
const START_TARGET_MS = 2_000;

export function addNeighbourFigures(book: FigureBook, m: NeighbourResult): void {
  const at = `${chunksLabel(m.neighbourChunks)} collection beside a ${chunksLabel(m.largeChunks)} one`;
  for (const { mode, alone, beside } of m.latencies) {
    const besideSummary = summarize(beside);
    const aloneSummary = summarize(alone);
    for (const percentile of ['p50', 'p95'] as const) {
      const ratio = besideSummary[percentile] / aloneSummary[percentile];
      book.add({
        id: `collections.search.${mode}.${percentile}.${m.neighbourChunks}.${m.largeChunks}`,
        section: '8 collections',
        name: `POST /collections/:c/search ${percentile}, mode ${mode}, k=10, ${at}`,
        unit: 'ms',
        value: besideSummary[percentile],
        summary: besideSummary,
        raw: {
          name: `the same searches, a service holding only the ${chunksLabel(m.neighbourChunks)} collection`,
          value: aloneSummary[percentile],
          unit: 'ms',
          summary: aloneSummary,
        },
        target: target(`≤ ${SEARCH_RATIO_TARGET}× alone`, ratio <= SEARCH_RATIO_TARGET),
        notes: 'requests in turns to both services, one at a time; one worker each, indexes built from the database and checkpointed before timing',
      });
    }
  }
  book.add({
    id: `collections.search.same-top10.${m.neighbourChunks}.${m.largeChunks}`,
    section: '8 collections',
    name: `mode vector top 10 identical beside the ${chunksLabel(m.largeChunks)} collection and alone`,
    unit: '',
    value: m.sameTop10,
    details: { loadMs: m.loadMs, workerReadyMs: m.rebuildMs },
  });
}

export function addStartFigures(book: FigureBook, m: ManyCollectionsResult): void {
  const at = `${m.collections} collections of ${chunksLabel(m.chunksPerCollection)} chunks`;
  const fromCheckpoints = summarize(m.checkpoint.map((start) => start.statusMs));
  const rebuildName = 'the same start with no checkpoints (every index rebuilt from the database)';
  book.add({
    id: `collections.start.checkpoint.${m.collections}.${m.chunksPerCollection}`,
    section: '8 collections',
    name: `worker start from checkpoints, ${at}: spawn → every index loaded and serving (p50 of ${m.checkpoint.length})`,
    unit: 'ms',
    value: fromCheckpoints.p50,
    summary: fromCheckpoints,
    raw: { name: rebuildName, value: m.rebuild.statusMs, unit: 'ms' },
    target: target(`≤ ${START_TARGET_MS.toLocaleString('en-US')} ms`, fromCheckpoints.p50 <= START_TARGET_MS),
    notes: `every start (ms): ${m.checkpoint.map((start) => Math.round(start.statusMs)).join(', ')}; spawn → "worker ready": ${describeReady(m.checkpoint)}; sum of the per-collection index loads: ${describeLoads(m.checkpoint)}`,
    details: { starts: m.checkpoint, rebuild: m.rebuild, empty: m.empty, loadMs: m.loadMs },
  });
  const cpu = summarize(m.checkpoint.map((start) => start.cpuMs));
  book.add({
    id: `collections.start.checkpoint.cpu.${m.collections}.${m.chunksPerCollection}`,
    section: '8 collections',
    name: `worker CPU time to start from checkpoints, ${at} (p50 of ${m.checkpoint.length}; all threads)`,
    unit: 'ms',
    value: cpu.p50,
    summary: cpu,
    raw: { name: 'the same on an empty database', value: m.empty.cpuMs, unit: 'ms' },
    withDifference: true,
    notes: `CPU time stays meaningful on a busy machine; with no checkpoints: ${Math.round(m.rebuild.cpuMs)} ms`,
  });
  book.add({
    id: 'collections.start.empty',
    section: '8 collections',
    name: 'worker start on an empty database (default collection only): spawn → serving, the fixed part of the figures above',
    unit: 'ms',
    value: m.empty.statusMs,
    notes: `"worker ready" after ${Math.round(m.empty.readyMs)} ms`,
  });
  book.add({
    id: `collections.start.rebuild.${m.collections}.${m.chunksPerCollection}`,
    section: '8 collections',
    name: `worker start with no checkpoints, ${at}: spawn → every index rebuilt and serving`,
    unit: 'ms',
    value: m.rebuild.statusMs,
    notes: `"worker ready" after ${Math.round(m.rebuild.readyMs)} ms; sum of the per-collection rebuilds ${Math.round(m.rebuild.indexLoadMs)} ms`,
  });
  const served = Math.min(...m.checkpoint.map((start) => Math.min(start.answering, start.fromCheckpoint)));
  book.add({
    id: `collections.start.serving.${m.collections}.${m.chunksPerCollection}`,
    section: '8 collections',
    name: `collections loaded from their checkpoint and answering a search with 10 hits after a start (of ${m.collections})`,
    unit: '',
    value: served,
    details: { perStart: m.checkpoint.map((start) => ({ answering: start.answering, fromCheckpoint: start.fromCheckpoint })) },
  });
}

function describeReady(starts: readonly WorkerStartTiming[]): string {
  return starts.map((start) => `${Math.round(start.readyMs)} ms`).join(', ');
}

function describeLoads(starts: readonly WorkerStartTiming[]): string {
  return starts.map((start) => `${Math.round(start.indexLoadMs)} ms`).join(', ');
}

function chunksLabel(chunks: number): string {
  return chunks >= 1_000 && chunks % 1_000 === 0 ? `${chunks / 1_000}k` : String(chunks);
}
