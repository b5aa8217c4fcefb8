/**
 * Ingests one revision of one document: chunk, embed in batches (reporting progress), then replace
 * the document's chunks and log the changes in one transaction, then sync the index. The claim and
 * the commit are made together with those of the other ingest jobs running in this worker
 * (ingest-groups.ts): one transaction, one sync and one announcement for the group. Running it
 * twice, or two attempts at once, leaves exactly one set of chunks: the last commit replaces the rest.
 * A document with too many chunks fails for good (the queue's give-up handler marks it failed).
 * The chunks are embedded by the collection's current generation's embedder, and also by the one a
 * running reindex builds; the commit is fenced on those generations, and embedded again when a
 * reindex started or swapped meanwhile (DESIGN.md §13). A collection whose embedder is unavailable
 * fails the attempt (CollectionDegradedError), so the job is retried with back-off.
 */
import type { IngestJob, IngestResult } from '../../../shared/src/jobs/ingest.js';
import { UnrecoverableJobError } from '../../../shared/src/errors.js';
import { refreshDocumentChunks } from '../../../shared/src/db/chunks-repo.js';
import { chunkSpans } from '../chunk-text.js';
import { abortOnTestMarker } from '../abort-on-test-marker.js';
import type { Services } from '../services.js';
import { commitFenced, withSpans } from './fenced-commit.js';
import type { JobContext } from './job-context.js';

type IngestServices = Pick<Services, 'config' | 'db' | 'embedders' | 'indexes' | 'commits' | 'ingestGroups'>;

export async function processIngest(
  s: IngestServices,
  job: IngestJob,
  { logger, reportProgress, saveOutcome }: JobContext<IngestResult>,
): Promise<IngestResult> {
  const superseded: IngestResult = { documentId: job.documentId, revision: job.revision, status: 'superseded', chunks: 0, removedChunks: 0 };
  const { collection } = job;
  const doc = await s.ingestGroups.claim(collection, { documentId: job.documentId, revision: job.revision }); // marked indexing, read back
  if (!doc) return superseded; // removed, re-posted or already done
  const { content } = doc;
  abortOnTestMarker(s.config.COLMEIA_TEST_ABORT_MARKER, content); // tests only (poison job); inert unless set

  if (doc.indexedHash === doc.contentHash && doc.chunkCount > 0) {
    const outcome = await refreshDocumentChunks(s.db, { collection, documentId: doc.id, revision: doc.revision });
    if (outcome.status === 'superseded') return superseded;
    logger.info('document unchanged, metadata refreshed', { documentId: doc.id, chunks: outcome.chunks });
    return { ...superseded, status: 'unchanged', chunks: outcome.chunks, seq: outcome.seq };
  }

  const spans = chunkSpans(content, { size: s.config.CHUNK_SIZE, overlap: s.config.CHUNK_OVERLAP });
  const texts = spans.map((span) => content.slice(span.start, span.end));
  if (texts.length > s.config.MAX_CHUNKS_PER_DOCUMENT) {
    throw new UnrecoverableJobError(
      'too_many_chunks',
      `document has ${texts.length} chunks, more than MAX_CHUNKS_PER_DOCUMENT (${s.config.MAX_CHUNKS_PER_DOCUMENT})`,
    );
  }
  const ready = (replaced: { chunks: number; removed: number; seq: number }): IngestResult => ({
    documentId: doc.id,
    revision: doc.revision,
    status: 'ready',
    chunks: replaced.chunks,
    removedChunks: replaced.removed,
    seq: replaced.seq,
  });
  const onProgress = (embedded: number) => reportProgress({ done: embedded, total: texts.length });
  const outcome = await commitFenced(s, { collection, texts, logger, onProgress, gone: { status: 'superseded' as const } }, (generations, chunks) =>
    s.ingestGroups.commit({
      collection,
      generations,
      document: { documentId: doc.id, revision: doc.revision, contentHash: doc.contentHash, chunks: withSpans(chunks, spans) },
      onCommit: (trx, replaced) => saveOutcome(trx, ready(replaced)),
    }),
  );
  if (outcome.status === 'superseded') return superseded; // the group synced the index and announced the commit
  logger.info('document ingested', { collection, documentId: doc.id, chunks: outcome.chunks, removedChunks: outcome.removed });
  return ready(outcome);
}
