/**
 * Item 8 of the benchmark, collections (DESIGN.md §13): whether a collection's search costs what an
 * index of its own size costs whatever the others hold, and how fast a worker holding many
 * collections starts. Both run the real web and worker processes on bulk-loaded synthetic rows.
 */
import type { BenchContext } from './bench-context.js';
import { addNeighbourFigures, addStartFigures } from './collections-figures.js';
import { measureNeighbourSearch } from './collections-neighbour.js';
import { measureManyCollectionsStart } from './collections-start.js';

export async function runCollectionsPhase(ctx: BenchContext, queryTexts: readonly string[]): Promise<void> {
  addNeighbourFigures(ctx.book, await measureNeighbourSearch(ctx, queryTexts));
  addStartFigures(ctx.book, await measureManyCollectionsStart(ctx, queryTexts));
}
