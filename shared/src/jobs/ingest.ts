/** The ingest queue: chunk, embed and commit one revision of one document. */
import { z } from 'zod';
import { Id } from '../input.js';

export const INGEST_QUEUE = 'ingest';

export const IngestJob = z.strictObject({
  documentId: Id,
  revision: z.number().int().positive(),
  requestId: z.string().max(128),
});
export type IngestJob = z.infer<typeof IngestJob>;

export interface IngestResult {
  documentId: string;
  revision: number;
  status: 'ready' | 'superseded' | 'unchanged';
  chunks: number;
  removedChunks: number;
}

/** One job per revision: a duplicate enqueue of the same revision is a no-op in Bee-Queue. */
export function ingestJobId(documentId: string, revision: number): string {
  return `ingest:${documentId}:${revision}`;
}
