/**
 * Re-enqueues documents left pending or indexing with no live ingest job, at start-up and then
 * periodically, so a Redis that lost its data (FLUSHALL, no persistence, eviction) loses no
 * document. The job id is deterministic, so sweeps by several workers never duplicate a job.
 */
import { listUnfinishedDocuments } from '../../shared/src/db/documents-repo.js';
import { enqueue } from '../../shared/src/queue/enqueue.js';
import { ingestJobId } from '../../shared/src/jobs/ingest.js';
import { serializeError } from '../../shared/src/logger.js';
import type { Knex } from 'knex';
import type { Config } from '../../shared/src/config.js';
import type { Logger } from '../../shared/src/logger.js';
import type { Queues } from '../../shared/src/queue/queues.js';

export interface SweeperParts {
  config: Config;
  db: Knex;
  queues: Queues;
  logger: Logger;
}

const SWEEP_BATCH = 500;

export function startSweeper(s: SweeperParts): { close(): void } {
  let isRunning = false;
  const run = async () => {
    if (isRunning) return;
    isRunning = true;
    try {
      await sweepOnce(s);
    } catch (err) {
      s.logger.warn('sweep failed', { err: serializeError(err) });
    } finally {
      isRunning = false;
    }
  };
  void run();
  const timer = setInterval(() => void run(), s.config.SWEEP_INTERVAL_MS);
  timer.unref();
  return { close: () => clearInterval(timer) };
}

export async function sweepOnce(s: SweeperParts): Promise<number> {
  const started = performance.now();
  const documents = await listUnfinishedDocuments(s.db, Date.now() - s.config.SWEEP_MIN_AGE_MS, SWEEP_BATCH);
  let requeued = 0;
  for (const doc of documents) {
    const jobId = ingestJobId(doc.id, doc.revision);
    const existing = await s.queues.ingest.getJob(jobId);
    // A live job (waiting, active, delayed) will finish the document. A failed one left behind (its
    // document should be failed too, but that write was lost, or a retry was half done) is replaced.
    if (existing && existing.status !== 'failed') continue;
    if (existing) await s.queues.ingest.removeJob(jobId);
    await enqueue(s.queues.ingest, s.config, jobId, { documentId: doc.id, revision: doc.revision, requestId: doc.requestId ?? 'sweep' });
    requeued++;
  }
  if (requeued > 0 || documents.length > 0) {
    s.logger.info('sweep done', { unfinished: documents.length, requeued, durationMs: Math.round(performance.now() - started) });
  }
  return requeued;
}
