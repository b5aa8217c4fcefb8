/**
 * Every collection's HNSW index in this worker (DESIGN.md §13), one VectorIndex per collection,
 * each synced from its own collection's change-log rows, checkpointed in its own directory and
 * rebuilt on its own, with the embedder of the collection's current generation beside it. All of
 * them are loaded at start (refresh() reads the collections table), so no collection is set up
 * lazily inside a job. Later changes reach the worker two ways: a `drop` or `swap` row in a
 * collection's log (seen by the sync every read and removal runs) and a look at the collections
 * table, one small query made every HEARTBEAT_INTERVAL_MS and whenever a job names a collection
 * this worker holds no index of. A swapped collection's index is rebuilt from SQL, of the new
 * generation's dimension, without a restart; the other collections are untouched.
 *
 * A collection whose embedder cannot be had (Ollama down with nothing recorded, a missing model, a
 * fingerprint that no longer matches) is degraded: its index is still loaded when its dimension is
 * recorded, the others serve as usual, and each look tries its embedder again.
 *
 * Several collections load at once (LOAD_CONCURRENCY: checkpoint reads on the thread pool overlap
 * the SQL and hashing of the others). The vector copies for filtered search are made one
 * collection after another in the background: those of the indexes loaded at start only once the
 * worker calls startVectorCopies() (when it is ready), so they never delay the start; those of a
 * collection loaded later, once it is loaded.
 */
import { rm } from 'node:fs/promises';
import type { Knex } from 'knex';
import { listCollections, type CollectionRecord } from '../../../shared/src/db/collections-repo.js';
import { readCollectionGenerations } from '../../../shared/src/db/generations-repo.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import { DEFAULT_COLLECTION } from '../../../shared/src/input.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import { embedderHealth } from '../embedders/create-embedder.js';
import type { Embedder } from '../embedders/embedder.js';
import type { EmbedderRegistry } from '../embedders/embedder-registry.js';
import { CollectionDegradedError, embedderForGeneration } from '../embedders/generation-embedder.js';
import { checkpointDir } from './index-checkpoints.js';
import type { IndexConfig } from './index-types.js';
import { VectorIndex, type IndexStats } from './vector-index.js';

const LOAD_CONCURRENCY = 4; // the thread pool's default size: readIndex runs there

export type CollectionIndexConfig = IndexConfig & { HEARTBEAT_INTERVAL_MS: number };

export interface CollectionIndexStats {
  size: number;
  appliedSeq: number;
  checkpointSeq: number;
  lastSyncMs: number;
  generation: number;
  embedder: string; // the generation's fingerprint when known, else its spec
  status: string; // ready | degraded: <reason>
  payloadFields: string[]; // declared fields its payload index holds
}

/** A collection's index with the embedder its vectors were made by. */
export interface ServingIndex {
  index: VectorIndex;
  embedder: Embedder;
}

interface Held {
  uid: string;
  generation: number;
  spec: string;
  fingerprint: string | null;
  index: VectorIndex | null; // null: no dimension is recorded yet (no worker could serve its embedder so far)
  embedder: Embedder | null; // null: unavailable, `reason` says why
  reason: string | null;
}

export class CollectionIndexes {
  private readonly held = new Map<string, Held>();
  private refreshing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private copying: Promise<void> = Promise.resolve();
  private copiesWaiting: VectorIndex[] | null = []; // loaded before startVectorCopies(); null once it ran
  private isClosed = false;

  private constructor(
    private readonly config: CollectionIndexConfig,
    private readonly db: Knex,
    private readonly embedders: EmbedderRegistry,
    private readonly instanceId: string, // the database's identity; each collection's adds its incarnation and generation
    private readonly logger: Logger,
  ) {}

  /** Loads the index of every collection (checkpoint or rebuild, then the log tail), then watches for new, swapped and deleted ones. */
  static async load(config: CollectionIndexConfig, db: Knex, embedders: EmbedderRegistry, instanceId: string, logger: Logger): Promise<CollectionIndexes> {
    const indexes = new CollectionIndexes(config, db, embedders, instanceId, logger);
    await indexes.refresh();
    indexes.timer = setInterval(() => {
      indexes.refresh().catch((err: unknown) => logger.warn('collections not refreshed; the next look tries again', { err: serializeError(err) }));
    }, config.HEARTBEAT_INTERVAL_MS);
    indexes.timer.unref();
    return indexes;
  }

  /**
   * The index of `collection`, synced: it holds every commit made before this call. A collection
   * this worker has not seen yet is loaded first; one that does not exist is a NotFoundError; one
   * without an index yet is a CollectionDegradedError.
   */
  async synced(collection: string): Promise<VectorIndex> {
    const held = await this.current(collection);
    if (held.index === null) throw this.degraded(collection, held);
    return held.index;
  }

  /** The synced index and its generation's embedder, for retrieval; a CollectionDegradedError when the embedder is unavailable. */
  async serving(collection: string): Promise<ServingIndex> {
    const held = await this.current(collection);
    if (held.index === null || held.embedder === null) throw this.degraded(collection, held);
    return { index: held.index, embedder: held.embedder };
  }

  /** The index held for `collection`, as it is (not synced). */
  get(collection: string): VectorIndex | undefined {
    return this.held.get(collection)?.index ?? undefined;
  }

  stats(): Record<string, CollectionIndexStats> {
    const out: Record<string, CollectionIndexStats> = {};
    for (const [collection, held] of this.held) {
      const s: IndexStats | undefined = held.index?.stats();
      const reason = this.reasonOf(held);
      out[collection] = {
        size: s?.size ?? 0,
        appliedSeq: s?.appliedSeq ?? 0,
        checkpointSeq: s?.checkpointSeq ?? 0,
        lastSyncMs: s?.lastSyncMs ?? 0,
        generation: held.generation,
        embedder: held.fingerprint ?? held.spec,
        status: reason === null ? 'ready' : `degraded: ${reason}`,
        payloadFields: s?.payloadFields ?? [],
      };
    }
    return out;
  }

  /** Brings the set in line with the collections table; each call runs after the previous one, so it sees every earlier commit. */
  refresh(): Promise<void> {
    const next = this.refreshing.catch(() => undefined).then(() => this.refreshOnce());
    this.refreshing = next;
    return next;
  }

  /** Starts the vector copies of the indexes loaded so far (call it once the worker is ready); later loads copy on their own. */
  startVectorCopies(): void {
    const waiting = this.copiesWaiting ?? [];
    this.copiesWaiting = null;
    this.copyInBackground(waiting);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.isClosed = true; // the vector copies stop at their next batch
    await this.refreshing.catch(() => undefined);
    await this.copying;
    for (const { index } of this.held.values()) await index?.close(); // final checkpoints
  }

  /** The held entry, synced; a swapped or dropped index is replaced first (a look at the collections table). */
  private async current(collection: string): Promise<Held> {
    for (let attempt = 0; attempt < 3; attempt++) {
      let held = this.held.get(collection);
      if (held === undefined || held.index === null || held.index.isStale || held.index.isDropped) {
        await this.refresh();
        held = this.held.get(collection);
      }
      if (held === undefined) break;
      if (held.index === null) return held;
      await held.index.sync();
      if (!held.index.isStale && !held.index.isDropped) return held;
    }
    throw new NotFoundError(`collection ${collection} not found`);
  }

  private reasonOf(held: Held): string | null {
    if (held.reason !== null || held.embedder === null) return held.reason ?? 'embedder unavailable';
    return embedderHealth(held.embedder).degradedReason;
  }

  private degraded(collection: string, held: Held): CollectionDegradedError {
    return new CollectionDegradedError(collection, held.spec, this.reasonOf(held) ?? 'embedder unavailable');
  }

  private async refreshOnce(): Promise<void> {
    const collections = await listCollections(this.db);
    const wanted = new Map(collections.map((c) => [c.id, c]));
    for (const [collection, held] of [...this.held]) {
      if (wanted.get(collection)?.uid !== held.uid || held.index?.isDropped === true) await this.letGo(collection, held);
    }
    const loaded: VectorIndex[] = [];
    try {
      await forEachLimited(collections, LOAD_CONCURRENCY, async (record) => {
        const index = await this.ensure(record);
        if (index !== null) loaded.push(index);
      });
    } finally {
      this.copyInBackground(loaded);
    }
  }

  /** Holds the collection's current generation: loads what is missing, rebuilds a swapped index, tries a missing embedder again. */
  private async ensure(record: CollectionRecord): Promise<VectorIndex | null> {
    let held = this.held.get(record.id);
    if (held !== undefined && (held.generation !== record.generation || held.index?.isStale === true)) {
      await held.index?.discard(); // another generation's: replaced by a rebuild from SQL
      this.held.delete(record.id);
      held = undefined;
    }
    if (held?.index != null && held.embedder !== null) return null;
    const generations = await readCollectionGenerations(this.db, record.id);
    if (generations === undefined || generations.uid !== record.uid) return null; // deleted since the look: the next one lets it go
    const { current } = generations;
    const logger = this.logger.child({ collection: record.id, generation: current.generation });
    let resolved: { embedder: Embedder | null; fingerprint: string | null; dimension: number | null; reason: string | null };
    try {
      resolved = { ...(await embedderForGeneration({ db: this.db, embedders: this.embedders }, record.id, current)), reason: null };
    } catch (err) {
      if (!(err instanceof CollectionDegradedError)) throw err;
      resolved = { embedder: null, fingerprint: current.fingerprint, dimension: current.dimension, reason: err.reason };
      if (held?.reason !== err.reason) logger.warn('collection degraded: its embedder is unavailable', { embedder: current.embedder, reason: err.reason });
    }
    if (held?.reason != null && resolved.reason === null) logger.info('collection embedder available again', { embedder: resolved.fingerprint });
    const index =
      held?.index ?? (resolved.fingerprint !== null && resolved.dimension !== null ? await this.loadIndex(record, current.generation, resolved, logger) : null);
    const { embedder, fingerprint, reason } = resolved;
    this.held.set(record.id, { uid: record.uid, generation: current.generation, spec: current.embedder, fingerprint, index, embedder, reason });
    return held?.index == null ? index : null; // a fresh load: its vector copy is to be made
  }

  private async loadIndex(record: CollectionRecord, generation: number, fingerprint: { fingerprint: string | null; dimension: number | null }, logger: Logger) {
    const incarnation = record.id === DEFAULT_COLLECTION ? this.instanceId : `${this.instanceId}:${record.uid}`;
    const identity = {
      embedder: fingerprint.fingerprint ?? '',
      dimension: fingerprint.dimension ?? 0,
      collection: record.id,
      instanceId: generation === 1 ? incarnation : `${incarnation}:g${generation}`, // checkpoints carry the generation
    };
    return VectorIndex.load(this.config, this.db, identity, logger);
  }

  /** The vector copies of freshly loaded indexes, one index at a time, after the copies already queued (or kept until startVectorCopies). */
  private copyInBackground(indexes: readonly VectorIndex[]): void {
    if (this.copiesWaiting !== null) {
      this.copiesWaiting.push(...indexes);
      return;
    }
    if (indexes.length === 0) return;
    this.copying = this.copying.then(async () => {
      for (const index of indexes) await index.copyVectors(() => this.isClosed); // never rejects: a failure is a warning and on-demand reads
    });
  }

  /** A deleted collection: its index stops, and its checkpoints go from disk. */
  private async letGo(collection: string, held: Held): Promise<void> {
    this.held.delete(collection);
    await held.index?.discard();
    await rm(checkpointDir(this.config, collection), { recursive: true, force: true });
    this.logger.info('collection index removed', { collection });
  }
}

/** Runs `task` on every item, at most `limit` at a time; after a failure no item starts, and it rejects with that failure once the running ones end. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const failures: unknown[] = [];
  const runner = async () => {
    for (let item = queue.shift(); item !== undefined && failures.length === 0; item = queue.shift()) {
      await task(item).catch((err: unknown) => failures.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  if (failures.length > 0) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
}
