/**
 * sync(): brings the index up to the latest committed vector_log seq (DESIGN.md §5). When nothing
 * changed that costs one indexed query and takes no lock, so a search never waits for a
 * checkpoint write; otherwise only the new rows are applied, under the index lock. Callers that
 * arrive while a sync runs wait for the next one, which starts after their call and so sees every
 * commit made before it. Each collection's index reads only its collection's rows. A `swap` row (or an
 * older `reindex` one) means the collection's vectors are now another generation's: nothing more
 * applies, and the owner rebuilds the index from SQL; a `drop` row means the collection was deleted.
 * Add and `meta` rows also carry the chunk's declared payload fields as SQL has them when read (a
 * later row sets the same state again); an `index` row makes the payload index read the
 * declarations again, and the rows after it are read again with the fields declared from then on.
 */
import type { Knex } from 'knex';
import { findSwapAfter, hasLogAfter, readLogAfter, type LogEntry } from '../../../shared/src/db/chunks-repo.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { WherePath } from '../../../shared/src/db/where.js';
import type { SerialLock } from './serial-lock.js';

/** What the log is applied to: the graph, the exact-scan copies and the payload index together. */
export interface ReplayTarget {
  has(label: number): boolean;
  add(label: number, embedding: number[]): void;
  remove(label: number): void;
  payloadFields(): { names: string[]; paths: WherePath[] }; // the declared fields add and meta rows carry
  setPayload(label: number, names: readonly string[], values: readonly unknown[]): void; // a chunk's declared fields, as SQL has them now
  redeclare(): Promise<void>; // an `index` row: read the declarations again, build the new fields from SQL, drop the removed
}

export interface LogReplayOptions {
  db: Knex;
  collection: string; // only this collection's rows are read
  lock: SerialLock;
  target: ReplayTarget;
  logger: Logger;
  seq: number; // the seq the target already holds
  onApplied: (ops: number) => void;
  onSwapped: (seq: number) => void; // the collection swapped to another generation: nothing more applies
  onDropped: (seq: number) => void; // the collection was deleted: nothing more applies
}

const LOG_BATCH = 2_000;

export class LogReplay {
  private appliedSeq: number;
  private lastMs = 0;
  private requests = 0;
  private covered = 0;
  private inflight: Promise<void> | null = null;
  private swappedAt: number | null = null;
  private droppedAt: number | null = null;

  constructor(private readonly o: LogReplayOptions) {
    this.appliedSeq = o.seq;
  }

  get seq(): number {
    return this.appliedSeq;
  }

  get lastSyncMs(): number {
    return this.lastMs;
  }

  /** A `swap` row was seen: the index holds a generation the collection no longer uses. */
  get isStale(): boolean {
    return this.swappedAt !== null;
  }

  get isDropped(): boolean {
    return this.droppedAt !== null;
  }

  async sync(): Promise<void> {
    const ticket = ++this.requests;
    while (this.covered < ticket) {
      if (!this.inflight) {
        const covers = this.requests;
        this.inflight = this.syncOnce()
          .then(() => {
            this.covered = Math.max(this.covered, covers);
          })
          .finally(() => {
            this.inflight = null;
          });
      }
      await this.inflight;
    }
  }

  private async syncOnce(): Promise<void> {
    const started = performance.now();
    if (this.droppedAt === null && this.swappedAt === null && (await hasLogAfter(this.o.db, this.appliedSeq, this.o.collection)))
      await this.o.lock.run(() => this.replay());
    else this.lastMs = performance.now() - started;
  }

  private async replay(): Promise<void> {
    const started = performance.now();
    // The add rows before a swap read today's embeddings, which may be the new generation's: none applies.
    const swapAt = await findSwapAfter(this.o.db, this.appliedSeq, this.o.collection);
    if (swapAt !== undefined) return this.markSwapped(swapAt);
    let applied = 0;
    for (;;) {
      const fields = this.o.target.payloadFields();
      const entries = await readLogAfter(this.o.db, this.appliedSeq, LOG_BATCH, this.o.collection, fields.paths);
      const swap = entries.find((entry) => entry.op === 'swap' || entry.op === 'reindex'); // committed since the look above: same rule
      if (swap !== undefined) return this.markSwapped(swap.seq);
      const done = await this.applyBatch(entries, fields.names);
      applied += done;
      if (this.droppedAt !== null || done === 0 || (done === entries.length && entries.length < LOG_BATCH)) break;
    }
    this.o.onApplied(applied);
    this.lastMs = performance.now() - started;
    if (applied > 0) this.o.logger.debug('index synced', { applied, seq: this.appliedSeq, durationMs: this.lastMs });
  }

  /**
   * Applies the rows in order and returns how many: up to and including an `index` row, after which
   * the rest is read again, since it carries the fields declared before that row, not after.
   */
  private async applyBatch(entries: readonly LogEntry[], names: readonly string[]): Promise<number> {
    let done = 0;
    for (const entry of entries) {
      this.apply(entry, names);
      if (this.droppedAt !== null) return done;
      if (entry.op === 'index') await this.o.target.redeclare();
      done++;
      this.appliedSeq = entry.seq;
      if (entry.op === 'index') break;
    }
    return done;
  }

  private apply(entry: LogEntry, names: readonly string[]): void {
    if (this.droppedAt !== null) return;
    if (entry.op === 'drop') {
      this.droppedAt = entry.seq;
      this.o.onDropped(entry.seq);
      return;
    }
    const { target } = this.o;
    if (entry.op === 'delete') target.remove(entry.chunkId);
    else if (entry.op === 'add' && entry.embedding !== null && !target.has(entry.chunkId)) target.add(entry.chunkId, entry.embedding); // null: deleted since
    if ((entry.op === 'add' || entry.op === 'meta') && entry.fields !== null && target.has(entry.chunkId))
      target.setPayload(entry.chunkId, names, entry.fields);
  }

  private markSwapped(seq: number): void {
    this.swappedAt = seq;
    this.o.onSwapped(seq);
  }
}
