/**
 * The worker's one HNSW index, a derived cache of the chunks table. sync() replays
 * vector_log rows committed since the last one applied (one indexed query when nothing changed);
 * checkpoints let a restart skip the rebuild; a checkpoint that does not verify is never loaded.
 * Mutation (sync, resize) and checkpoint writes are serialised; searches run between them.
 */
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import type { Knex } from 'knex';
import type { Config } from '../../../shared/src/config.js';
import type { Logger } from '../../../shared/src/logger.js';
import { serializeError } from '../../../shared/src/logger.js';
import { hasLogAfter, latestSeq, readChunkEmbeddings, readEmbeddings, readLogAfter, type LogEntry, countChunks, MAX_CHUNK_ID } from '../../../shared/src/db/chunks-repo.js';
import { CheckpointStore, type Manifest } from './checkpoint-store.js';
import { SerialLock } from './serial-lock.js';

type Hnsw = InstanceType<typeof hnswlib.HierarchicalNSW>;

export type IndexConfig = Pick<
  Config,
  'DATA_DIR' | 'HNSW_M' | 'HNSW_EF_CONSTRUCTION' | 'HNSW_EF_SEARCH' | 'HNSW_INITIAL_CAPACITY' | 'CHECKPOINT_EVERY_OPS' | 'CHECKPOINT_INTERVAL_MS' | 'FILTER_EXACT_MAX_IDS'
>;

export interface IndexIdentity {
  embedder: string;
  dimension: number;
  instanceId: string; // the database's identity (index_meta)
}

export interface SearchHitId {
  chunkId: number;
  score: number; // cosine similarity
}

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
}

const LOG_BATCH = 2_000;

/** The database's vectors now come from another embedder (npm run reindex): this index can serve nothing more. */
export class IndexInvalidatedError extends Error {
  constructor(seq: number) {
    super(`the embeddings were replaced by a reindex at seq ${seq}; this worker must restart with the new embedder`);
    this.name = 'IndexInvalidatedError';
  }
}
const REBUILD_BATCH = 1_000;

export class VectorIndex {
  private readonly lock = new SerialLock();
  private readonly live = new Set<number>(); // labels present and not deleted
  private readonly vectors = new Map<number, Float32Array>(); // copies of live vectors, for exact filtered scoring (hnswlib's getPoint costs ~60 µs each)
  private readonly retired: Hnsw[] = []; // objects a failed load left unusable: kept referenced, never freed twice
  private appliedSeq = 0;
  private checkpointSeq = 0;
  private opsSinceCheckpoint = 0;
  private lastCheckpointAt = Date.now();
  private lastSyncMs = 0;
  private syncRequests = 0;
  private syncCovered = 0;
  private inflight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private invalidatedAt: number | null = null;
  private onInvalidated: (err: IndexInvalidatedError) => void = () => undefined;
  private startupReport: IndexStartup = { source: 'rebuild', reason: null, durationMs: 0 };

  private constructor(
    private hnsw: Hnsw,
    private readonly config: IndexConfig,
    private readonly db: Knex,
    private readonly identity: IndexIdentity,
    private readonly store: CheckpointStore,
    private readonly logger: Logger,
  ) {}

  /** Loads the newest verified checkpoint, or rebuilds from the chunks table; then replays the log tail. */
  static async load(
    config: IndexConfig,
    db: Knex,
    identity: IndexIdentity,
    logger: Logger,
    onInvalidated: (err: IndexInvalidatedError) => void = () => undefined,
  ): Promise<VectorIndex> {
    const started = performance.now();
    const store = new CheckpointStore(path.join(config.DATA_DIR, 'index'));
    await store.ensureDir();
    const index = new VectorIndex(createHnsw(identity.dimension), config, db, identity, store, logger);
    index.onInvalidated = onInvalidated;
    const loaded = await index.loadCheckpoint();
    if (loaded.ok) {
      logger.info('index checkpoint loaded', { checkpoint: loaded.name, seq: index.appliedSeq, size: index.live.size });
    } else {
      logger.warn('index rebuild from database', { reason: loaded.reason });
      await index.rebuild();
    }
    await index.sync();
    index.timer = setInterval(() => void index.checkpointIfDue(), Math.min(config.CHECKPOINT_INTERVAL_MS, 5_000));
    index.timer.unref();
    index.startupReport = {
      source: loaded.ok ? 'checkpoint' : 'rebuild',
      reason: loaded.ok ? null : loaded.reason,
      durationMs: Math.round(performance.now() - started),
    };
    logger.info('index ready', { ...index.startupReport, size: index.live.size, seq: index.appliedSeq });
    if (loaded.ok) {
      index.copyVectorsFromDatabase().catch((err: unknown) => logger.warn('vector copies for filtered search not loaded; they are read on demand', { err: serializeError(err) }));
    }
    return index;
  }

  get size(): number {
    return this.live.size;
  }

  get seq(): number {
    return this.appliedSeq;
  }

  get startup(): IndexStartup {
    return this.startupReport;
  }

  stats(): IndexStats {
    return {
      size: this.live.size,
      slots: this.hnsw.getCurrentCount(),
      capacity: this.hnsw.getMaxElements(),
      appliedSeq: this.appliedSeq,
      checkpointSeq: this.checkpointSeq,
      lastSyncMs: this.lastSyncMs,
      embedder: this.identity.embedder,
    };
  }

  /**
   * Brings the index up to the latest committed vector_log seq. Callers that arrive while a sync
   * runs wait for the next one, which starts after their call and so sees every earlier commit.
   */
  async sync(): Promise<void> {
    const ticket = ++this.syncRequests;
    while (this.syncCovered < ticket) {
      if (!this.inflight) {
        const covers = this.syncRequests;
        this.inflight = this.syncOnce()
          .then(() => {
            this.syncCovered = Math.max(this.syncCovered, covers);
          })
          .finally(() => {
            this.inflight = null;
          });
      }
      await this.inflight;
    }
  }

  /** Nearest chunks to `vector` among all live chunks. */
  search(vector: number[], k: number): SearchHitId[] {
    const want = Math.min(k, this.live.size);
    if (want === 0) return [];
    this.hnsw.setEf(Math.max(this.config.HNSW_EF_SEARCH, want));
    return toHits(this.hnsw.searchKnn(vector, want));
  }

  /**
   * Nearest chunks among `allowed` (a filter's chunk ids): a small set is scored exactly from the
   * stored embeddings, a large one goes through HNSW with a label filter; k results when k exist.
   */
  async searchWithin(vector: number[], k: number, allowed: readonly number[]): Promise<SearchHitId[]> {
    const ids = allowed.filter((id) => this.live.has(id));
    const want = Math.min(k, ids.length);
    if (want === 0) return [];
    if (ids.length > this.config.FILTER_EXACT_MAX_IDS) {
      const allowedSet = new Set(ids);
      this.hnsw.setEf(Math.max(this.config.HNSW_EF_SEARCH, want * 2));
      const hits = toHits(this.hnsw.searchKnn(vector, want, (label) => allowedSet.has(label)));
      if (hits.length >= want) return hits;
    }
    return exactTop(vector, want, await this.vectorsOf(ids));
  }

  /** The vectors of `ids` from memory; those not copied yet (after a checkpoint load) are read from SQL once. */
  private async vectorsOf(ids: readonly number[]): Promise<Array<{ id: number; vector: Float32Array }>> {
    const missing = ids.filter((id) => !this.vectors.has(id));
    if (missing.length > 0) {
      for (const row of await readEmbeddings(this.db, missing)) if (this.live.has(row.id)) this.vectors.set(row.id, Float32Array.from(row.embedding));
    }
    return ids.flatMap((id) => {
      const vector = this.vectors.get(id);
      return vector ? [{ id, vector }] : [];
    });
  }

  /** After a checkpoint load the index holds vectors this process never saw: copy them from SQL in the background. */
  private async copyVectorsFromDatabase(): Promise<void> {
    let afterId = 0;
    for (;;) {
      const rows = await readChunkEmbeddings(this.db, afterId, REBUILD_BATCH);
      for (const row of rows) if (this.live.has(row.id) && !this.vectors.has(row.id)) this.vectors.set(row.id, Float32Array.from(row.embedding));
      if (rows.length < REBUILD_BATCH) return;
      afterId = rows[rows.length - 1]?.id ?? afterId;
    }
  }

  /** Writes a checkpoint now if anything changed since the last one. */
  async checkpoint(): Promise<void> {
    await this.lock.run(() => this.writeCheckpoint());
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checkpoint().catch((err: unknown) => this.logger.error('final checkpoint failed', { err: serializeError(err) }));
  }

  /** The no-change check runs outside the lock, so a search never waits for a checkpoint write when nothing changed. */
  private async syncOnce(): Promise<void> {
    const started = performance.now();
    if (await hasLogAfter(this.db, this.appliedSeq)) await this.lock.run(() => this.replay());
    else this.lastSyncMs = performance.now() - started;
  }

  private async replay(): Promise<void> {
    const started = performance.now();
    let entries = await readLogAfter(this.db, this.appliedSeq, LOG_BATCH);
    let applied = 0;
    while (entries.length > 0) {
      for (const entry of entries) this.apply(entry);
      applied += entries.length;
      this.appliedSeq = entries[entries.length - 1]?.seq ?? this.appliedSeq;
      if (entries.length < LOG_BATCH) break;
      entries = await readLogAfter(this.db, this.appliedSeq, LOG_BATCH);
    }
    this.opsSinceCheckpoint += applied;
    this.lastSyncMs = performance.now() - started;
    if (applied > 0) this.logger.debug('index synced', { applied, seq: this.appliedSeq, durationMs: this.lastSyncMs });
  }

  private apply(entry: LogEntry): void {
    if (entry.op === 'reindex') {
      this.invalidatedAt = entry.seq;
      this.onInvalidated(new IndexInvalidatedError(entry.seq));
    }
    if (this.invalidatedAt !== null) throw new IndexInvalidatedError(this.invalidatedAt);
    const label = entry.chunkId;
    if (entry.op === 'delete') {
      if (!this.live.has(label)) return;
      this.hnsw.markDelete(label);
      this.live.delete(label);
      this.vectors.delete(label);
      return;
    }
    if (entry.embedding === null || this.live.has(label)) return; // deleted since, or already present
    this.addPoint(label, entry.embedding);
  }

  private addPoint(label: number, embedding: number[]): void {
    if (!Number.isInteger(label) || label < 0 || label > MAX_CHUNK_ID) throw new Error(`chunk id ${label} cannot be an HNSW label`);
    if (embedding.length !== this.identity.dimension) {
      throw new Error(`chunk ${label} has ${embedding.length} dimensions, the index has ${this.identity.dimension}`);
    }
    const capacity = this.hnsw.getMaxElements();
    const freeDeletedSlots = this.hnsw.getCurrentCount() - this.live.size; // marked deleted, reusable
    if (freeDeletedSlots === 0 && this.hnsw.getCurrentCount() >= capacity) {
      this.hnsw.resizeIndex(capacity * 2);
      this.logger.info('index capacity grown', { from: capacity, to: capacity * 2 });
    }
    this.hnsw.addPoint(embedding, label, freeDeletedSlots > 0);
    this.live.add(label);
    this.vectors.set(label, Float32Array.from(embedding));
  }

  private async checkpointIfDue(): Promise<void> {
    const isDue =
      this.opsSinceCheckpoint >= this.config.CHECKPOINT_EVERY_OPS ||
      (this.appliedSeq !== this.checkpointSeq && Date.now() - this.lastCheckpointAt >= this.config.CHECKPOINT_INTERVAL_MS);
    if (!isDue) return;
    try {
      await this.checkpoint();
    } catch (err) {
      this.logger.error('checkpoint failed', { err: serializeError(err) });
    }
  }

  private async writeCheckpoint(): Promise<void> {
    if (this.invalidatedAt !== null) return;
    if (this.appliedSeq === this.checkpointSeq && this.checkpointSeq !== 0) return;
    const started = performance.now();
    const name = this.store.newName(this.appliedSeq);
    const tmp = this.store.tempIndexPath(name);
    try {
      await this.hnsw.writeIndex(tmp);
      const deleted = this.hnsw.getIdsList().filter((label) => !this.live.has(label));
      const manifest = await this.store.commit(name, {
        seq: this.appliedSeq,
        count: this.live.size,
        dimension: this.identity.dimension,
        embedder: this.identity.embedder,
        instanceId: this.identity.instanceId,
        space: 'cosine',
        params: { m: this.config.HNSW_M, efConstruction: this.config.HNSW_EF_CONSTRUCTION },
        maxElements: this.hnsw.getMaxElements(),
        deleted,
      });
      this.checkpointSeq = manifest.seq;
      this.opsSinceCheckpoint = 0;
      this.lastCheckpointAt = Date.now();
      this.logger.info('checkpoint written', { checkpoint: name, seq: manifest.seq, size: manifest.count, bytes: manifest.size, durationMs: Math.round(performance.now() - started) });
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  private async loadCheckpoint(): Promise<{ ok: true; name: string } | { ok: false; reason: string }> {
    const current = await this.store.readCurrent();
    if ('reason' in current) return { ok: false, reason: current.reason };
    const manifest = current.manifest;
    const mismatch = this.manifestMismatch(manifest, await latestSeq(this.db));
    if (mismatch) return { ok: false, reason: mismatch };
    const copy = await this.store.verifiedCopy(manifest);
    if ('reason' in copy) return { ok: false, reason: copy.reason };
    const hnsw = createHnswShell(this.identity.dimension);
    try {
      hnsw.readIndexSync(copy.path, true);
    } catch (err) {
      this.retired.push(hnsw);
      return { ok: false, reason: `readIndex failed: ${(err as Error).message}` };
    } finally {
      await unlink(copy.path).catch(() => undefined);
    }
    const deleted = new Set(manifest.deleted);
    const live = hnsw.getIdsList().filter((label) => !deleted.has(label));
    if (live.length !== manifest.count || hnsw.getNumDimensions() !== manifest.dimension) {
      this.retired.push(hnsw);
      return { ok: false, reason: `checkpoint holds ${live.length} labels, manifest says ${manifest.count}` };
    }
    this.hnsw = hnsw;
    for (const label of live) this.live.add(label);
    this.appliedSeq = manifest.seq;
    this.checkpointSeq = manifest.seq;
    return { ok: true, name: manifest.name };
  }

  private manifestMismatch(manifest: Manifest, dbSeq: number): string | undefined {
    if (manifest.embedder !== this.identity.embedder) return `checkpoint embedder ${manifest.embedder} is not ${this.identity.embedder}`;
    if (manifest.dimension !== this.identity.dimension) return `checkpoint dimension ${manifest.dimension} is not ${this.identity.dimension}`;
    if (manifest.instanceId !== this.identity.instanceId) return 'checkpoint belongs to another database';
    if (manifest.params.m !== this.config.HNSW_M || manifest.params.efConstruction !== this.config.HNSW_EF_CONSTRUCTION) {
      return 'checkpoint was built with other HNSW parameters';
    }
    if (manifest.seq > dbSeq) return `checkpoint is at seq ${manifest.seq}, beyond the database's ${dbSeq}`;
    return undefined;
  }

  /** Rebuilds from the chunks table: read the seq first, then the rows, then replay from that seq. */
  private async rebuild(): Promise<void> {
    const started = performance.now();
    const seq = await latestSeq(this.db);
    const total = await countChunks(this.db);
    this.hnsw = createHnsw(this.identity.dimension, Math.max(this.config.HNSW_INITIAL_CAPACITY, Math.ceil(total * 1.25)), this.config);
    this.live.clear();
    this.vectors.clear();
    let afterId = 0;
    for (;;) {
      const rows = await readChunkEmbeddings(this.db, afterId, REBUILD_BATCH);
      for (const row of rows) this.addPoint(row.id, row.embedding);
      if (rows.length < REBUILD_BATCH) break;
      afterId = rows[rows.length - 1]?.id ?? afterId;
    }
    this.appliedSeq = seq;
    this.checkpointSeq = 0;
    this.opsSinceCheckpoint = this.live.size;
    this.logger.info('index rebuilt', { size: this.live.size, seq, durationMs: Math.round(performance.now() - started) });
  }
}

function createHnswShell(dimension: number): Hnsw {
  return new hnswlib.HierarchicalNSW('cosine', dimension);
}

function createHnsw(dimension: number, capacity = 1, config?: IndexConfig): Hnsw {
  const hnsw = createHnswShell(dimension);
  hnsw.initIndex({ maxElements: capacity, m: config?.HNSW_M ?? 16, efConstruction: config?.HNSW_EF_CONSTRUCTION ?? 200, allowReplaceDeleted: true });
  return hnsw;
}

function toHits(result: { distances: number[]; neighbors: number[] }): SearchHitId[] {
  return result.neighbors.map((chunkId, i) => ({ chunkId, score: 1 - (result.distances[i] ?? 1) }));
}

/** Exact cosine top-k over stored embeddings; ties go to the lower chunk id, deterministically. */
function exactTop(vector: number[], k: number, rows: ReadonlyArray<{ id: number; vector: Float32Array }>): SearchHitId[] {
  const query = Float32Array.from(normalise(vector));
  const scored = rows.map((row) => ({ chunkId: row.id, score: cosine(query, row.vector) }));
  scored.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
  return scored.slice(0, k);
}

function normalise(vector: number[]): number[] {
  let norm = 0;
  for (const value of vector) norm += value * value;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return vector.map((value) => value * scale);
}

/** Cosine of a unit-length query with a stored vector (stored vectors are unit length too, up to float32 rounding). */
function cosine(query: Float32Array, stored: Float32Array): number {
  let dotProduct = 0;
  let norm = 0;
  for (let i = 0; i < stored.length; i++) {
    const value = stored[i] ?? 0;
    dotProduct += (query[i] ?? 0) * value;
    norm += value * value;
  }
  return norm > 0 ? dotProduct / Math.sqrt(norm) : 0;
}

