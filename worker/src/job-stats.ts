/**
 * What one worker process knows about its jobs: per queue, how many ran with which outcome, how
 * long they took (histogram buckets shared with the web, heartbeats.ts), how many run now and when
 * the last one started. The heartbeat carries a snapshot to the web's GET /metrics; the connection
 * watchdog uses `active` and `lastStartedAt` to tell an idle worker from a stuck one.
 */
import { JOB_DURATION_BUCKETS_S, type QueueJobStats } from '../../shared/src/heartbeats.js';

export type JobOutcome = 'succeeded' | 'failed' | 'errored';

interface QueueCounters extends QueueJobStats {
  active: number;
  lastStartedAt: number; // epoch ms; 0 = never
}

export class JobStats {
  private readonly queues = new Map<string, QueueCounters>();

  started(queue: string): void {
    const counters = this.of(queue);
    counters.active += 1;
    counters.lastStartedAt = Date.now();
  }

  finished(queue: string, outcome: JobOutcome, durationMs: number): void {
    const counters = this.of(queue);
    counters.active = Math.max(0, counters.active - 1);
    counters[outcome] += 1;
    const seconds = durationMs / 1000;
    counters.durationCount += 1;
    counters.durationSumS += seconds;
    JOB_DURATION_BUCKETS_S.forEach((bound, i) => {
      if (seconds <= bound) counters.durationBuckets[i] = (counters.durationBuckets[i] ?? 0) + 1;
    });
  }

  stalled(queue: string, count = 1): void {
    this.of(queue).stalled += count;
  }

  active(queue: string): number {
    return this.queues.get(queue)?.active ?? 0;
  }

  lastStartedAt(queue: string): number {
    return this.queues.get(queue)?.lastStartedAt ?? 0;
  }

  /** Cumulative counts per queue, for the heartbeat. */
  snapshot(): Record<string, QueueJobStats> {
    const out: Record<string, QueueJobStats> = {};
    for (const [queue, { active: _active, lastStartedAt: _last, ...stats }] of this.queues) {
      out[queue] = { ...stats, durationBuckets: [...stats.durationBuckets] };
    }
    return out;
  }

  private of(queue: string): QueueCounters {
    let counters = this.queues.get(queue);
    if (!counters) {
      counters = {
        succeeded: 0,
        failed: 0,
        errored: 0,
        stalled: 0,
        durationCount: 0,
        durationSumS: 0,
        durationBuckets: JOB_DURATION_BUCKETS_S.map(() => 0),
        active: 0,
        lastStartedAt: 0,
      };
      this.queues.set(queue, counters);
    }
    return counters;
  }
}
