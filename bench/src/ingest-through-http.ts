/**
 * Ingest as a client sees it: POST /documents for every document (a few in flight at once), then
 * wait until every document is ready (or failed). The time runs from the first POST to the last
 * document's ready stamp (its updated_at, written in the transaction that commits its chunks), read
 * from the shared SQLite file the processes use, so polling granularity does not enter the figure.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Knex } from 'knex';
import { countDocumentsByStatus, listDocuments } from '../../shared/src/db/documents-repo.js';
import type { CorpusDocument } from './factbook-corpus.js';
import type { HttpClient } from './http-client.js';
import { summarize, type Summary } from './summary.js';

const POLL_MS = 20;

export interface IngestRun {
  documents: number;
  failed: number;
  chunks: number;
  elapsedMs: number; // first POST → last document ready
  chunksPerSecond: number;
  postMs: Summary; // POST /documents answer times (row stored, job enqueued)
}

export async function ingestThroughHttp(
  db: Knex,
  client: HttpClient,
  documents: readonly CorpusDocument[],
  options: { concurrency: number; timeoutMs: number },
): Promise<IngestRun> {
  const startedAt = Date.now();
  const postMs: number[] = [];
  let next = 0;
  const poster = async () => {
    while (next < documents.length) {
      const document = documents[next++];
      if (!document) break;
      const reply = await client.expect(202, 'POST', '/documents', {
        id: document.id,
        title: document.title,
        text: document.text,
        metadata: document.metadata,
      });
      postMs.push(reply.ms);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, poster));
  const deadline = startedAt + options.timeoutMs;
  for (;;) {
    const counts = await countDocumentsByStatus(db);
    if (counts.ready + counts.failed >= documents.length) break;
    if (Date.now() > deadline) throw new Error(`ingest not done after ${options.timeoutMs} ms: ${JSON.stringify(counts)}`);
    await delay(POLL_MS);
  }
  const { documents: rows } = await listDocuments(db, { limit: documents.length + 10 });
  const lastReadyAt = Math.max(...rows.map((row) => Date.parse(row.updatedAt)));
  const chunks = rows.reduce((total, row) => total + row.chunkCount, 0);
  const elapsedMs = lastReadyAt - startedAt;
  return {
    documents: rows.length,
    failed: rows.filter((row) => row.status === 'failed').length,
    chunks,
    elapsedMs,
    chunksPerSecond: (chunks / elapsedMs) * 1_000,
    postMs: summarize(postMs),
  };
}
