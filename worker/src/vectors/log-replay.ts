/**
 * sync(): brings the index up to the latest committed vector_log seq (DESIGN.md §5). When nothing
 * changed that costs one indexed query and takes no lock, so a search never waits for a
 * checkpoint write; otherwise only the new rows are applied, under the index lock. Callers that
 * arrive while a sync runs wait for the next one, which starts after their call and so sees every
 * commit made before it. Each collection's index reads only its collection's rows. A `swap` row (or an
 * older `reindex` one) means the collection's vectors are now another generation's: nothing more
 * applies, and the owner rebuilds the index from SQL; a `drop` row means the collection was deleted.
 */
import type { Knex } from 'knex';
import { findSwapAfter, hasLogAfter, readLogAfter, type LogEntry } from '../../../shared/src/db/chunks-repo.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { SerialLock } from './serial-lock.js';

/** What the log is applied to: the graph and the exact-scan copies together. */
export interface ReplayTarget {
  has(label: number): boolean;
  add(label: number, embedding: number[]): void;
  remove(label: number): void;
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
    let entries = await readLogAfter(this.o.db, this.appliedSeq, LOG_BATCH, this.o.collection);
    let applied = 0;
    while (entries.length > 0) {
      const swap = entries.find((entry) => entry.op === 'swap' || entry.op === 'reindex'); // committed since the look above: same rule
      if (swap !== undefined) return this.markSwapped(swap.seq);
      for (const entry of entries) this.apply(entry);
      if (this.droppedAt !== null) break;
      applied += entries.length;
      this.appliedSeq = entries[entries.length - 1]?.seq ?? this.appliedSeq;
      if (entries.length < LOG_BATCH) break;
      entries = await readLogAfter(this.o.db, this.appliedSeq, LOG_BATCH, this.o.collection);
    }
    this.o.onApplied(applied);
    this.lastMs = performance.now() - started;
    if (applied > 0) this.o.logger.debug('index synced', { applied, seq: this.appliedSeq, durationMs: this.lastMs });
  }

  private apply(entry: LogEntry): void {
    if (this.droppedAt !== null) return;
    if (entry.op === 'drop') {
      this.droppedAt = entry.seq;
      this.o.onDropped(entry.seq);
      return;
    }
    const { target } = this.o;
    if (entry.op === 'delete') target.remove(entry.chunkId);
    else if (entry.embedding !== null && !target.has(entry.chunkId)) target.add(entry.chunkId, entry.embedding); // null: deleted since
  }

  private markSwapped(seq: number): void {
    this.swappedAt = seq;
    this.o.onSwapped(seq);
  }
}
