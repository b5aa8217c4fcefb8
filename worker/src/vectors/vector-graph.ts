/**
 * The worker's one hnswlib HierarchicalNSW and the labels live in it (DESIGN.md §5: space cosine,
 * M, efConstruction and ef from config only, allowReplaceDeleted, labels = chunk ids). hnswlib
 * truncates labels to uint32 and checks no dimension (RELIABILITY.md item 8), so both are checked
 * here before a vector reaches it. Capacity doubles before it runs out; deleted slots are reused.
 */
import hnswlib from 'hnswlib-node';
import { MAX_CHUNK_ID } from '../../../shared/src/db/chunks-repo.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { IndexConfig, SearchHitId } from './index-types.js';

export type Hnsw = InstanceType<typeof hnswlib.HierarchicalNSW>;
export type GraphConfig = Pick<IndexConfig, 'HNSW_M' | 'HNSW_EF_CONSTRUCTION' | 'HNSW_EF_SEARCH'>;

export const SPACE = 'cosine';
const MIN_GROWN_CAPACITY = 1_024;

export class VectorGraph {
  private readonly live: Set<number>; // labels present and not marked deleted

  private constructor(
    private readonly hnsw: Hnsw,
    live: Iterable<number>,
    private readonly config: GraphConfig,
    private readonly logger: Logger,
  ) {
    this.live = new Set(live);
  }

  /** An empty graph with room for `capacity` vectors before it first grows. */
  static create(config: GraphConfig, dimension: number, capacity: number, logger: Logger): VectorGraph {
    const hnsw = new hnswlib.HierarchicalNSW(SPACE, dimension);
    hnsw.initIndex({ maxElements: capacity, m: config.HNSW_M, efConstruction: config.HNSW_EF_CONSTRUCTION, allowReplaceDeleted: true });
    return new VectorGraph(hnsw, [], config, logger);
  }

  /** A graph read from a verified checkpoint; `live` are its labels that are not marked deleted. */
  static adopt(hnsw: Hnsw, live: Iterable<number>, config: GraphConfig, logger: Logger): VectorGraph {
    return new VectorGraph(hnsw, live, config, logger);
  }

  get size(): number {
    return this.live.size;
  }

  get slots(): number {
    return this.hnsw.getCurrentCount(); // live plus deleted ones not yet reused
  }

  get capacity(): number {
    return this.hnsw.getMaxElements();
  }

  has(label: number): boolean {
    return this.live.has(label);
  }

  add(label: number, embedding: number[]): void {
    if (!Number.isInteger(label) || label < 0 || label > MAX_CHUNK_ID) throw new Error(`chunk id ${label} cannot be an HNSW label`);
    const dimension = this.hnsw.getNumDimensions();
    if (embedding.length !== dimension) throw new Error(`chunk ${label} has ${embedding.length} dimensions, the index has ${dimension}`);
    const freeDeletedSlots = this.slots - this.live.size; // marked deleted, reusable
    if (freeDeletedSlots === 0 && this.slots >= this.capacity) this.grow();
    this.hnsw.addPoint(embedding, label, freeDeletedSlots > 0);
    this.live.add(label);
  }

  /** Marks `label` deleted; false when it was not live. */
  remove(label: number): boolean {
    if (!this.live.has(label)) return false;
    this.hnsw.markDelete(label);
    this.live.delete(label);
    return true;
  }

  /**
   * The k nearest live labels, or with `allowed` (a set or a predicate) the k nearest of those (ef
   * raised, since the filter rejects candidates). k above HNSW_EF_SEARCH raises ef to k.
   */
  search(vector: number[], k: number, allowed?: ReadonlySet<number> | ((label: number) => boolean)): SearchHitId[] {
    const want = Math.min(k, this.live.size);
    if (want === 0) return [];
    this.hnsw.setEf(Math.max(this.config.HNSW_EF_SEARCH, allowed ? want * 2 : want));
    const filter = allowed === undefined ? undefined : typeof allowed === 'function' ? allowed : (label: number) => allowed.has(label);
    const result = filter ? this.hnsw.searchKnn(vector, want, filter) : this.hnsw.searchKnn(vector, want);
    return result.neighbors.map((chunkId, i) => ({ chunkId, score: 1 - (result.distances[i] ?? 1) }));
  }

  /** Labels in the graph's slots that are marked deleted (a checkpoint's manifest lists them). */
  deletedLabels(): number[] {
    return this.hnsw.getIdsList().filter((label) => !this.live.has(label));
  }

  /** hnswlib's saveIndex on the thread pool: callers hold the index lock, so no mutation runs meanwhile (RELIABILITY.md item 9). */
  async write(file: string): Promise<void> {
    await this.hnsw.writeIndex(file);
  }

  /**
   * Doubles the capacity, from at least MIN_GROWN_CAPACITY: hnswlib reads an empty index file back
   * with a capacity of 0 (its loadIndex keeps the saved capacity only when there are elements), and
   * doubling 0 asks for no memory, which hnswlib reports as "Not enough memory".
   */
  private grow(): void {
    const from = this.capacity;
    const to = Math.max(from * 2, MIN_GROWN_CAPACITY);
    this.hnsw.resizeIndex(to);
    this.logger.info('index capacity grown', { from, to });
  }
}
