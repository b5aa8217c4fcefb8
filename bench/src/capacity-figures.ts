/**
 * The capacity phase's figures: per size, the worker's RSS started from a checkpoint (with its
 * vector copies in) next to the index file, the checkpoint load next to a rebuild from SQL; across
 * sizes, chunks held per GiB above an empty worker and, when the run stopped short of 1M chunks, the
 * figures at 1M extrapolated from the two largest sizes (named as extrapolated in the table).
 */
import type { FigureBook } from './figure-book.js';
import { MIB, type ResidentSplit } from './process-memory.js';

const GIB = 1024 * MIB;
const ONE_MILLION = 1_000_000;

export interface CapacitySize {
  size: number;
  loadMs: number; // bulk load of the rows (not a worker figure)
  rebuildMs: number; // worker A's "index ready" duration: rebuild from the chunks table
  rebuildWallMs: number; // spawn → "worker ready"
  rebuiltRssBytes: number;
  checkpointMs: number; // worker B's "index ready" duration
  checkpointSource: 'checkpoint' | 'rebuild';
  checkpointWallMs: number;
  copiesMs: number; // worker B's background copies of the vectors for exact filtered search
  checkpointBytes: number; // hnswlib's file in the checkpoint
  rssAtReadyBytes: number; // worker B at "worker ready", before its copies
  resident: ResidentSplit; // worker B once its copies are in
  peakRssBytes: number;
}

export function addCapacityFigures(book: FigureBook, empty: ResidentSplit, sizes: readonly CapacitySize[]): void {
  for (const measured of sizes) addSizeFigures(book, measured);
  const largest = sizes[sizes.length - 1];
  if (!largest) return;
  const heldMiB = (largest.resident.rssBytes - empty.rssBytes) / MIB;
  book.add({
    id: 'capacity.chunksPerGiB',
    section: '9 capacity',
    name: `chunks one worker holds per GiB above an empty worker (${Math.round(empty.rssBytes / MIB)} MiB), at ${label(largest.size)}`,
    unit: 'chunks',
    value: largest.size / (heldMiB / 1024),
    raw: { name: 'index file only', value: largest.size / (largest.checkpointBytes / GIB), unit: 'chunks' },
    details: { emptyWorker: empty, heldMiB },
  });
  const below = sizes[sizes.length - 2];
  if (below && largest.size < ONE_MILLION) addExtrapolation(book, below, largest);
}

function addSizeFigures(book: FigureBook, m: CapacitySize): void {
  const at = label(m.size);
  book.add({
    id: `capacity.rss.${m.size}`,
    section: '9 capacity',
    name: `worker RSS from a checkpoint, vector copies in, ${at}`,
    unit: 'MiB',
    value: m.resident.rssBytes / MIB,
    raw: { name: 'index file', value: m.checkpointBytes / MIB, unit: 'MiB' },
    notes: `${Math.round(m.resident.fileBytes / MIB)} MiB file-backed; at ready ${Math.round(m.rssAtReadyBytes / MIB)} MiB; peak ${Math.round(m.peakRssBytes / MIB)} MiB; after a rebuild ${Math.round(m.rebuiltRssBytes / MIB)} MiB`,
    details: { ...m },
  });
  book.add({
    id: `capacity.checkpoint.${m.size}`,
    section: '9 capacity',
    name: `worker index load from checkpoint, ${at}`,
    unit: 'ms',
    value: m.checkpointMs,
    raw: { name: 'rebuild from the database', value: m.rebuildMs, unit: 'ms' },
    notes: `source ${m.checkpointSource}; spawn → ready ${Math.round(m.checkpointWallMs)} ms (rebuild ${Math.round(m.rebuildWallMs)} ms); vector copies ${m.copiesMs} ms after ready`,
  });
}

/**
 * 1M chunks from the two largest sizes: RSS on the straight line through them (memory per chunk is
 * constant once the fixed part is paid), times on a power law through them (an HNSW insert costs
 * more as the graph grows, so a rebuild is worse than linear).
 */
function addExtrapolation(book: FigureBook, low: CapacitySize, high: CapacitySize): void {
  const perChunk = (high.resident.rssBytes - low.resident.rssBytes) / (high.size - low.size);
  const rss = high.resident.rssBytes + perChunk * (ONE_MILLION - high.size);
  const basis = `extrapolated from ${label(low.size)} and ${label(high.size)}`;
  book.add({
    id: 'capacity.rss.1000000.extrapolated',
    section: '9 capacity',
    name: `worker RSS at 1M chunks (${basis}, straight line)`,
    unit: 'MiB',
    value: rss / MIB,
    raw: {
      name: 'index file, same line',
      value: (high.checkpointBytes + ((high.checkpointBytes - low.checkpointBytes) / (high.size - low.size)) * (ONE_MILLION - high.size)) / MIB,
      unit: 'MiB',
    },
    details: { marginalMiBPer100k: (perChunk * 100_000) / MIB },
  });
  book.add({
    id: 'capacity.checkpoint.1000000.extrapolated',
    section: '9 capacity',
    name: `worker index load from checkpoint at 1M (${basis}, power law)`,
    unit: 'ms',
    value: powerLaw(low.size, low.checkpointMs, high.size, high.checkpointMs, ONE_MILLION),
    raw: { name: 'rebuild from the database, same fit', value: powerLaw(low.size, low.rebuildMs, high.size, high.rebuildMs, ONE_MILLION), unit: 'ms' },
  });
}

/** y at x on the curve y = c·x^p through (x1, y1) and (x2, y2). */
function powerLaw(x1: number, y1: number, x2: number, y2: number, x: number): number {
  const exponent = Math.log(y2 / y1) / Math.log(x2 / x1);
  return y2 * (x / x2) ** exponent;
}

function label(size: number): string {
  return size >= ONE_MILLION ? `${size / ONE_MILLION}M` : `${Math.round(size / 1_000)}k`;
}
