/**
 * Every collection's HNSW index in this worker (DESIGN.md §13), one VectorIndex per collection,
 * each synced from its own collection's change-log rows, checkpointed in its own directory and
 * rebuilt on its own. All of them are loaded at start (refresh() reads the collections table), so
 * no collection is set up lazily inside a job. Later changes to the set reach the worker two ways:
 * a `drop` row in a collection's log (seen by the sync every read and removal runs) and a look at
 * the collections table, which is one small query, made every HEARTBEAT_INTERVAL_MS and whenever a
 * job names a collection this worker holds no index of (one created since the last look).
 * Several collections load at once (LOAD_CONCURRENCY: checkpoint reads on the thread pool overlap
 * the SQL and hashing of the others). The vector copies for filtered search are made one
 * collection after another in the background: those of the indexes loaded at start only once the
 * worker calls startVectorCopies() (when it is ready), so they never delay the start; those of a
 * collection loaded later, once it is loaded.
 */
import { rm } from 'node:fs/promises';
import type { Knex } from 'knex';
import { listCollections } from '../../../shared/src/db/collections-repo.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import { DEFAULT_COLLECTION } from '../../../shared/src/input.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import { checkpointDir } from './index-checkpoints.js';
import type { IndexConfig, IndexIdentity } from './index-types.js';
import { VectorIndex, type IndexInvalidatedError, type IndexStats } from './vector-index.js';

export type CollectionIndexConfig = IndexConfig & { HEARTBEAT_INTERVAL_MS: number };

const LOAD_CONCURRENCY = 4; // the thread pool's default size: readIndex runs there

export interface CollectionIndexStats {
  size: number;
  appliedSeq: number;
  checkpointSeq: number;
  lastSyncMs: number;
}

interface Held {
  uid: string;
  index: VectorIndex;
}

export class CollectionIndexes {
  private readonly held = new Map<string, Held>();
  private refreshing: Promise<void> = Promise.resolve();
  private copying: Promise<void> = Promise.resolve();
  private copiesWaiting: VectorIndex[] | null = []; // loaded before startVectorCopies(); null once it ran
  private timer: NodeJS.Timeout | null = null;
  private isClosed = false;

  private constructor(
    private readonly config: CollectionIndexConfig,
    private readonly db: Knex,
    private readonly identity: IndexIdentity, // the database's; each collection's adds its incarnation
    private readonly logger: Logger,
    private readonly onInvalidated: (err: IndexInvalidatedError) => void,
  ) {}

  /** Loads the index of every collection (checkpoint or rebuild, then the log tail), then watches for new and deleted ones. */
  static async load(
    config: CollectionIndexConfig,
    db: Knex,
    identity: IndexIdentity,
    logger: Logger,
    onInvalidated: (err: IndexInvalidatedError) => void = () => undefined,
  ): Promise<CollectionIndexes> {
    const indexes = new CollectionIndexes(config, db, identity, logger, onInvalidated);
    await indexes.refresh();
    indexes.timer = setInterval(() => {
      indexes.refresh().catch((err: unknown) => logger.warn('collections not refreshed; the next look tries again', { err: serializeError(err) }));
    }, config.HEARTBEAT_INTERVAL_MS);
    indexes.timer.unref();
    return indexes;
  }

  /**
   * The index of `collection`, synced: it holds every commit made before this call. A collection
   * this worker has not seen yet is loaded first; one that does not exist is a NotFoundError.
   */
  async synced(collection: string): Promise<VectorIndex> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.held.has(collection)) await this.refresh();
      const held = this.held.get(collection);
      if (!held) break;
      await held.index.sync();
      if (!held.index.isDropped) return held.index;
      await this.refresh(); // lets the deleted one go; a collection created again since is loaded fresh
    }
    throw new NotFoundError(`collection ${collection} not found`);
  }

  /** The index held for `collection`, as it is (not synced). */
  get(collection: string): VectorIndex | undefined {
    return this.held.get(collection)?.index;
  }

  /** The default collection's index: it always exists. */
  get default(): VectorIndex {
    const index = this.get(DEFAULT_COLLECTION);
    if (!index) throw new Error('the default collection has no index');
    return index;
  }

  stats(): Record<string, CollectionIndexStats> {
    const out: Record<string, CollectionIndexStats> = {};
    for (const [collection, { index }] of this.held) {
      const s: IndexStats = index.stats();
      out[collection] = { size: s.size, appliedSeq: s.appliedSeq, checkpointSeq: s.checkpointSeq, lastSyncMs: s.lastSyncMs };
    }
    return out;
  }

  /** Starts the vector copies of the indexes loaded so far (call it once the worker is ready); later loads copy on their own. */
  startVectorCopies(): void {
    const waiting = this.copiesWaiting ?? [];
    this.copiesWaiting = null;
    this.copyInBackground(waiting);
  }

  /** Brings the set in line with the collections table; each call runs after the previous one, so it sees every earlier commit. */
  refresh(): Promise<void> {
    const next = this.refreshing.catch(() => undefined).then(() => this.refreshOnce());
    this.refreshing = next;
    return next;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.isClosed = true; // the vector copies stop at their next batch
    await this.refreshing.catch(() => undefined);
    await this.copying;
    for (const { index } of this.held.values()) await index.close(); // final checkpoints
  }

  private async refreshOnce(): Promise<void> {
    const collections = await listCollections(this.db);
    const wanted = new Map(collections.map((c) => [c.id, c.uid]));
    for (const [collection, held] of [...this.held]) {
      if (wanted.get(collection) !== held.uid || held.index.isDropped) await this.letGo(collection, held);
    }
    const missing = [...wanted].filter(([collection]) => !this.held.has(collection));
    const loaded: VectorIndex[] = [];
    try {
      await forEachLimited(missing, LOAD_CONCURRENCY, async ([collection, uid]) => {
        const index = await this.loadIndex(collection, uid);
        this.held.set(collection, { uid, index });
        loaded.push(index);
      });
    } finally {
      this.copyInBackground(loaded);
    }
  }

  private loadIndex(collection: string, uid: string): Promise<VectorIndex> {
    const identity = {
      ...this.identity,
      collection,
      instanceId: collection === DEFAULT_COLLECTION ? this.identity.instanceId : `${this.identity.instanceId}:${uid}`,
    };
    return VectorIndex.load(this.config, this.db, identity, this.logger.child({ collection }), this.onInvalidated);
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
    await held.index.discard();
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
