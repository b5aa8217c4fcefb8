/**
 * When the index is checkpointed, writing a checkpoint, and loading one (DESIGN.md §5). One is due
 * after CHECKPOINT_EVERY_OPS applied log rows, or after CHECKPOINT_INTERVAL_MS when anything
 * changed. A failed write is a warning, never a failed job: the previous checkpoint stays CURRENT
 * and the next due checkpoint tries again, no sooner than CHECKPOINT_INTERVAL_MS later. A load
 * checks the manifest against this database and config, and the file before readIndex; the file
 * is read into a fresh object that, if the read fails, is kept but never touched again
 * (RELIABILITY.md item 7: hnswlib-node leaves a freed pointer in it). The read runs on the thread
 * pool (readIndex), so several collections load at once; nothing else can reach that object
 * until the read has ended, so the race of item 9 (a write beside a mutation) cannot arise.
 */
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import type { Logger } from '../../../shared/src/logger.js';
import { DEFAULT_COLLECTION } from '../../../shared/src/input.js';
import { serializeError } from '../../../shared/src/logger.js';
import { CheckpointStore, type Manifest, type ManifestFields } from './checkpoint-store.js';
import type { IndexConfig, IndexIdentity } from './index-types.js';
import { SPACE, VectorGraph, type Hnsw } from './vector-graph.js';

export type CheckpointConfig = Pick<
  IndexConfig,
  'DATA_DIR' | 'HNSW_M' | 'HNSW_EF_CONSTRUCTION' | 'HNSW_EF_SEARCH' | 'CHECKPOINT_EVERY_OPS' | 'CHECKPOINT_INTERVAL_MS'
>;

/** A collection's own checkpoint directory: DATA_DIR/index/<collection>/ (collection ids are safe directory names). */
export function checkpointDir(config: Pick<IndexConfig, 'DATA_DIR'>, collection: string): string {
  return path.join(config.DATA_DIR, 'index', collection);
}

export type LoadedCheckpoint = { ok: true; name: string; seq: number; graph: VectorGraph } | { ok: false; reason: string };

export class IndexCheckpoints {
  private readonly retired: Hnsw[] = []; // objects a failed read left unusable: kept referenced, never freed twice
  private writtenSeq = 0;
  private opsSince = 0;
  private lastAt = Date.now();
  private notBefore = 0; // after a failed write: the earliest next attempt

  private constructor(
    private readonly store: CheckpointStore,
    private readonly config: CheckpointConfig,
    private readonly identity: IndexIdentity,
    private readonly logger: Logger,
  ) {}

  static async open(config: CheckpointConfig, identity: IndexIdentity, logger: Logger): Promise<IndexCheckpoints> {
    const store = new CheckpointStore(checkpointDir(config, identity.collection ?? DEFAULT_COLLECTION));
    await store.ensureDir();
    return new IndexCheckpoints(store, config, identity, logger);
  }

  /** The seq of the last checkpoint written or loaded; 0 for none. */
  get seq(): number {
    return this.writtenSeq;
  }

  noteApplied(ops: number): void {
    this.opsSince += ops;
  }

  isDue(appliedSeq: number): boolean {
    const now = Date.now();
    if (now < this.notBefore) return false;
    return this.opsSince >= this.config.CHECKPOINT_EVERY_OPS || (appliedSeq !== this.writtenSeq && now - this.lastAt >= this.config.CHECKPOINT_INTERVAL_MS);
  }

  /** Writes `graph` as the checkpoint at `seq` unless that one exists. The caller holds the index lock. */
  async write(graph: VectorGraph, seq: number): Promise<void> {
    if (seq === this.writtenSeq && this.writtenSeq !== 0) return;
    const started = performance.now();
    const name = this.store.newName(seq);
    let manifest: Manifest;
    try {
      manifest = await this.store.commit(name, this.manifestFields(graph, seq), (file) => graph.write(file));
    } catch (err) {
      this.notBefore = Date.now() + this.config.CHECKPOINT_INTERVAL_MS;
      this.logger.warn('checkpoint failed; the previous one stays current', { checkpoint: name, seq, err: serializeError(err) });
      return;
    }
    this.writtenSeq = manifest.seq;
    this.opsSince = 0;
    this.lastAt = Date.now();
    this.notBefore = 0;
    this.logger.info('checkpoint written', {
      checkpoint: name,
      seq,
      size: manifest.count,
      bytes: manifest.size,
      durationMs: Math.round(performance.now() - started),
    });
    await this.store.prune(name).catch((err: unknown) => this.logger.warn('old checkpoints not pruned', { err: serializeError(err) }));
  }

  /** The graph CURRENT names, if it verifies and fits this database (`dbSeq`: its latest seq) and config. */
  async load(dbSeq: number): Promise<LoadedCheckpoint> {
    const current = await this.store.readCurrent();
    if ('reason' in current) return { ok: false, reason: current.reason };
    const { manifest } = current;
    const mismatch = this.manifestMismatch(manifest, dbSeq);
    if (mismatch) return { ok: false, reason: mismatch };
    const copy = await this.store.verifiedCopy(manifest);
    if ('reason' in copy) return { ok: false, reason: copy.reason };
    const hnsw = new hnswlib.HierarchicalNSW(SPACE, manifest.dimension);
    try {
      await hnsw.readIndex(copy.path, true);
    } catch (err) {
      this.retired.push(hnsw);
      return { ok: false, reason: `readIndex failed: ${(err as Error).message}` };
    } finally {
      await this.store.removeCopy(copy.path);
    }
    const deleted = new Set(manifest.deleted);
    const live = hnsw.getIdsList().filter((label) => !deleted.has(label));
    if (live.length !== manifest.count || hnsw.getNumDimensions() !== manifest.dimension) {
      this.retired.push(hnsw);
      return { ok: false, reason: `checkpoint holds ${live.length} labels, manifest says ${manifest.count}` };
    }
    this.writtenSeq = manifest.seq;
    return { ok: true, name: manifest.name, seq: manifest.seq, graph: VectorGraph.adopt(hnsw, live, this.config, this.logger) };
  }

  private manifestFields(graph: VectorGraph, seq: number): ManifestFields {
    return {
      seq,
      count: graph.size,
      dimension: this.identity.dimension,
      embedder: this.identity.embedder,
      instanceId: this.identity.instanceId,
      space: SPACE,
      params: { m: this.config.HNSW_M, efConstruction: this.config.HNSW_EF_CONSTRUCTION },
      maxElements: graph.capacity,
      deleted: graph.deletedLabels(),
    };
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
}
