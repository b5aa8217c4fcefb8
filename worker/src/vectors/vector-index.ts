/**
 * One collection's HNSW index in this worker, a derived cache of its chunks (DESIGN.md §5, §13;
 * collection-indexes.ts holds one per collection). It starts from
 * a verified checkpoint or a rebuild, then sync() replays vector_log rows committed since; search
 * reads the graph, and a filtered search small enough is scored exactly. Mutation (sync) and
 * checkpoint writes are serialised by one lock; searches run between them.
 */
import type { Knex } from 'knex';
import { latestSeq } from '../../../shared/src/db/chunks-repo.js';
import { compactedThrough } from '../../../shared/src/db/log-compaction-repo.js';
import type { Logger } from '../../../shared/src/logger.js';
import { serializeError } from '../../../shared/src/logger.js';
import { DEFAULT_COLLECTION } from '../../../shared/src/input.js';
import { ExactScan } from './exact-scan.js';
import { IndexCheckpoints, type LoadedCheckpoint } from './index-checkpoints.js';
import type { IndexConfig, IndexIdentity, SearchHitId } from './index-types.js';
import { LogReplay, type ReplayTarget } from './log-replay.js';
import { rebuildFromDatabase } from './rebuild-from-database.js';
import { SerialLock } from './serial-lock.js';
import type { VectorGraph } from './vector-graph.js';
import type { WhereAst } from '../../../shared/src/db/where.js';
import { choosePlan, type FilterPlan } from './filter-plan.js';
import { syncDeclarations } from './payload-build.js';
import { PayloadIndex, type PayloadDeclaration } from './payload-index.js';

export type { IndexConfig, IndexIdentity, SearchHitId } from './index-types.js';

export interface IndexStartup {
  source: 'checkpoint' | 'rebuild';
  reason: string | null; // why a rebuild was needed
  durationMs: number;
}

export interface IndexStats {
  size: number;
  slots: number; // used slots: live plus deleted ones not yet reused
  capacity: number;
  appliedSeq: number;
  checkpointSeq: number;
  lastSyncMs: number;
  embedder: string;
  payloadFields: string[]; // the declared fields the payload index holds
}

interface IndexParts {
  config: IndexConfig;
  db: Knex;
  identity: IndexIdentity;
  logger: Logger;
  graph: VectorGraph;
  seq: number; // the seq `graph` holds
  scan: ExactScan;
  checkpoints: IndexCheckpoints;
}

const CHECKPOINT_TICK_MS = 5_000; // how often the due check runs, at most

export class VectorIndex {
  private readonly lock = new SerialLock();
  private readonly graph: VectorGraph;
  private readonly scan: ExactScan;
  private readonly checkpoints: IndexCheckpoints;
  private readonly replay: LogReplay;
  private readonly payload = new PayloadIndex();
  private lastPlan: FilterPlan['kind'] | 'sql' | null = null;
  private timer: NodeJS.Timeout | null = null;
  private isDiscarded = false;
  private needsVectorCopies = false;
  private startupReport: IndexStartup = { source: 'rebuild', reason: null, durationMs: 0 };

  private constructor(private readonly parts: IndexParts) {
    this.graph = parts.graph;
    this.scan = parts.scan;
    this.checkpoints = parts.checkpoints;
    const { db, logger, seq } = parts;
    this.replay = new LogReplay({
      db,
      collection: this.collection,
      lock: this.lock,
      target: this.replayTarget(),
      logger,
      seq,
      onSwapped: (swapSeq) => logger.info('collection swapped to a new generation; its index is rebuilt', { collection: this.collection, seq: swapSeq }),
      onApplied: (ops) => this.checkpoints.noteApplied(ops),
      onDropped: (dropSeq) => logger.info('collection deleted; its index serves nothing more', { collection: this.collection, seq: dropSeq }),
    });
  }

  /** Loads the newest verified checkpoint, or rebuilds from the chunks table; then replays the log tail. */
  static async load(config: IndexConfig, db: Knex, identity: IndexIdentity, logger: Logger): Promise<VectorIndex> {
    const started = performance.now();
    const collection = identity.collection ?? DEFAULT_COLLECTION;
    const checkpoints = await IndexCheckpoints.open(config, identity, logger);
    const scan = new ExactScan(db, collection);
    const loaded = await loadReplayable(checkpoints, db, collection);
    if (loaded.ok) logger.info('index checkpoint loaded', { collection, checkpoint: loaded.name, seq: loaded.seq, size: loaded.graph.size });
    else logger.warn('index rebuild from database', { collection, reason: loaded.reason });
    const start = loaded.ok ? loaded : await rebuildFromDatabase({ config, db, logger }, identity.dimension, scan, collection);
    if (!loaded.ok) checkpoints.noteApplied(start.graph.size); // a rebuild is worth a checkpoint as soon as it is large
    const index = new VectorIndex({ config, db, identity, logger, graph: start.graph, seq: start.seq, scan, checkpoints });
    await index.loadPayload(); // from SQL before the replay: the log rows after it set the same state again
    await index.sync();
    if (loaded.ok && (await compactedThrough(db, collection)) > loaded.seq) {
      logger.warn('the change log was compacted while the checkpoint was replayed; loading again', { seq: loaded.seq });
      return VectorIndex.load(config, db, identity, logger); // finds the checkpoint unreplayable: rebuilds
    }
    index.startCheckpointTimer();
    index.startupReport = {
      source: loaded.ok ? 'checkpoint' : 'rebuild',
      reason: loaded.ok ? null : loaded.reason,
      durationMs: Math.round(performance.now() - started),
    };
    logger.info('index ready', { collection, ...index.startupReport, size: index.size, seq: index.seq });
    index.needsVectorCopies = loaded.ok;
    return index;
  }

  /**
   * After a checkpoint load, copies the live vectors from SQL for exact filtered search (a rebuild
   * made them as it went). Left to the owner to call once every index is loaded, so the copies
   * never delay the start; until they are in, a filtered search reads what it needs on demand.
   * A failure is a warning: those vectors are read on demand instead.
   */
  async copyVectors(shouldStop: () => boolean = () => false): Promise<void> {
    if (!this.needsVectorCopies || this.isDiscarded) return;
    this.needsVectorCopies = false;
    const started = performance.now();
    await this.scan
      .copyFromDatabase(
        (label) => this.graph.has(label),
        () => shouldStop() || this.isDiscarded,
        this.graph.size,
      )
      .then(() =>
        this.parts.logger.info('vector copies loaded', {
          collection: this.collection,
          ...this.scan.stats(),
          durationMs: Math.round(performance.now() - started),
        }),
      )
      .catch((err: unknown) => this.parts.logger.warn('vector copies for filtered search not loaded; they are read on demand', { err: serializeError(err) }));
  }

  get collection(): string {
    return this.parts.identity.collection ?? DEFAULT_COLLECTION;
  }

  /** Its collection swapped to another generation (a `swap` row): the index serves nothing more, a rebuild replaces it. */
  get isStale(): boolean {
    return this.replay.isStale;
  }

  /** Its collection was deleted (a `drop` row was replayed): the index serves nothing more. */
  get isDropped(): boolean {
    return this.replay.isDropped;
  }

  get size(): number {
    return this.graph.size;
  }

  get seq(): number {
    return this.replay.seq;
  }

  get startup(): IndexStartup {
    return this.startupReport;
  }

  stats(): IndexStats {
    return {
      size: this.graph.size,
      slots: this.graph.slots,
      capacity: this.graph.capacity,
      appliedSeq: this.replay.seq,
      checkpointSeq: this.checkpoints.seq,
      lastSyncMs: this.replay.lastSyncMs,
      embedder: this.parts.identity.embedder,
      payloadFields: this.payload.fieldNames.sort(),
    };
  }

  /**
   * Brings the index up to the latest committed vector_log seq. Callers that arrive while a sync
   * runs wait for the next one, which starts after their call and so sees every earlier commit.
   */
  async sync(): Promise<void> {
    await this.replay.sync();
  }

  /** Nearest chunks to `vector` among all live chunks. */
  search(vector: number[], k: number): SearchHitId[] {
    return this.graph.search(vector, k);
  }

  /**
   * Nearest chunks among `allowed` (a filter's chunk ids): a small set is scored exactly from the
   * stored embeddings, a large one goes through HNSW with a label filter; k results when k exist.
   */
  async searchWithin(vector: number[], k: number, allowed: readonly number[]): Promise<SearchHitId[]> {
    const ids = allowed.filter((id) => this.graph.has(id));
    const want = Math.min(k, ids.length);
    if (want === 0) return [];
    if (ids.length > this.parts.config.FILTER_EXACT_MAX_IDS) {
      const hits = this.graph.search(vector, want, new Set(ids));
      if (hits.length >= want) return hits;
    }
    return this.scan.top(vector, want, ids, (label) => this.graph.has(label));
  }

  /** Whether the payload index declares every field `where` reads (searchWhere answers it). */
  answersWhere(where: WhereAst): boolean {
    return this.payload.canAnswer(where);
  }

  /**
   * Nearest chunks matching `where`, answered from the payload index (filter-plan.ts chooses how);
   * undefined when a condition reads an undeclared field: the caller resolves the filter in SQL.
   */
  async searchWhere(vector: number[], k: number, where: WhereAst): Promise<SearchHitId[] | undefined> {
    if (!this.payload.canAnswer(where)) {
      this.lastPlan = 'sql';
      return undefined;
    }
    const { config } = this.parts;
    const plan = choosePlan({
      estimate: this.payload.estimate(where),
      live: this.graph.size,
      k,
      ef: config.HNSW_EF_SEARCH,
      exactMax: config.FILTER_EXACT_MAX_IDS,
    });
    this.lastPlan = plan.kind;
    if (plan.kind === 'exact') return this.searchWithin(vector, k, this.payload.matching(where)); // more than estimated: HNSW with the set
    const matches = this.payload.matcher(where);
    if (plan.kind === 'post-filter') {
      const kept = this.graph.search(vector, plan.candidates).filter((hit) => matches(hit.chunkId));
      if (kept.length >= k) return kept.slice(0, k);
    }
    const walked = this.graph.search(vector, k, matches);
    if (walked.length >= k) return walked;
    return this.searchWithin(vector, k, this.payload.matching(where)); // the walk can miss matches a narrow filter leaves unreachable
  }

  /** The plan of the last searchWhere, for tests and the benchmark. */
  get lastFilterPlan(): FilterPlan['kind'] | 'sql' | null {
    return this.lastPlan;
  }

  /** The declared payload fields this index answers filters on. */
  get payloadFields(): PayloadDeclaration[] {
    return this.payload.declarations;
  }

  /** Writes a checkpoint now if anything changed since the last one; a failed write is logged and the previous one kept. */
  async checkpoint(): Promise<void> {
    await this.lock.run(async () => {
      if (!this.replay.isStale && !this.replay.isDropped && !this.isDiscarded) await this.checkpoints.write(this.graph, this.replay.seq);
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checkpoint(); // the final one
  }

  /** Stops it without a checkpoint (its collection is gone); once a running checkpoint write ends, none follows. */
  async discard(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.lock.run(async () => {
      this.isDiscarded = true;
    });
  }

  private startCheckpointTimer(): void {
    this.timer = setInterval(
      () => {
        if (!this.checkpoints.isDue(this.replay.seq)) return;
        this.checkpoint().catch((err: unknown) => this.parts.logger.error('checkpoint timer failed', { err: serializeError(err) })); // a write failure is a warn inside; this is a bug
      },
      Math.min(this.parts.config.CHECKPOINT_INTERVAL_MS, CHECKPOINT_TICK_MS),
    );
    this.timer.unref();
  }

  private async loadPayload(): Promise<void> {
    await syncDeclarations(this.parts.db, this.collection, this.payload, (label) => this.graph.has(label));
  }

  /** Log rows reach the graph, the exact-scan copies and the payload index together. */
  private replayTarget(): ReplayTarget {
    return {
      has: (label) => this.graph.has(label),
      add: (label, embedding) => {
        this.graph.add(label, embedding);
        this.scan.keep(label, embedding);
      },
      remove: (label) => {
        if (this.graph.remove(label)) this.scan.drop(label);
        this.payload.remove(label);
      },
      payloadFields: () => {
        const names = this.payload.fieldNames;
        return { names, paths: names.map((name) => name.split('.')) };
      },
      setPayload: (label, names, values) => this.payload.set(label, names, values),
      redeclare: () => this.loadPayload(),
    };
  }
}

/** The checkpoint CURRENT names, unless the change log was compacted past it: then it cannot catch up by replay. */
async function loadReplayable(checkpoints: IndexCheckpoints, db: Knex, collection: string): Promise<LoadedCheckpoint> {
  const loaded = await checkpoints.load(await latestSeq(db, collection));
  if (!loaded.ok) return loaded;
  const through = await compactedThrough(db, collection);
  return loaded.seq >= through ? loaded : { ok: false, reason: `the change log was compacted through seq ${through}, past the checkpoint's ${loaded.seq}` };
}
