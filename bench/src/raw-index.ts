/**
 * The raw side of the comparisons: hnswlib-node used directly, with the worker's parameters (cosine,
 * M, efConstruction, the default random seed) and the worker's insertion order (chunk id order). An
 * HNSW graph built single-threaded from the same vectors in the same order with the same seed is the
 * same graph, so raw searchKnn searches exactly the index the worker searches.
 */
import hnswlib from 'hnswlib-node';
import { readProcessMemory } from './process-memory.js';

export type Hnsw = InstanceType<typeof hnswlib.HierarchicalNSW>;

export interface RawIndexParams {
  dimension: number;
  m: number;
  efConstruction: number;
}

export interface RawBuild {
  hnsw: Hnsw;
  addPointMs: number[]; // one sample per addPoint call
  totalMs: number;
  pointsPerSecond: number;
  rssDeltaBytes: number; // this process's RSS growth over the build: the index's native memory
}

export function buildRawIndex(vectors: readonly number[][], labels: readonly number[], params: RawIndexParams): RawBuild {
  const before = readProcessMemory(process.pid).rssBytes;
  const hnsw = new hnswlib.HierarchicalNSW('cosine', params.dimension);
  hnsw.initIndex({ maxElements: Math.max(1, vectors.length), m: params.m, efConstruction: params.efConstruction, allowReplaceDeleted: true });
  const addPointMs = new Array<number>(vectors.length);
  const started = performance.now();
  for (let i = 0; i < vectors.length; i++) {
    const vector = vectors[i] ?? [];
    const label = labels[i] ?? i;
    const t = performance.now();
    hnsw.addPoint(vector, label);
    addPointMs[i] = performance.now() - t;
  }
  const totalMs = performance.now() - started;
  return { hnsw, addPointMs, totalMs, pointsPerSecond: (vectors.length / totalMs) * 1_000, rssDeltaBytes: readProcessMemory(process.pid).rssBytes - before };
}

export function createEmptyRawIndex(dimension: number): Hnsw {
  return new hnswlib.HierarchicalNSW('cosine', dimension);
}

/** Labels of searchKnn's answer, nearest first (hnswlib returns them nearest first). */
export function searchLabels(hnsw: Hnsw, vector: number[], k: number): number[] {
  return hnsw.searchKnn(vector, Math.min(k, hnsw.getCurrentCount())).neighbors;
}
