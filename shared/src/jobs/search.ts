/** The search queue: sync, embed the query, search the index, hydrate rows. Results are never stored. */
import { z } from 'zod';

export const SEARCH_QUEUE = 'search';

export const SearchJob = z.strictObject({
  query: z.string(),
  k: z.number().int().positive(),
  where: z.unknown().optional(), // the client's filter: validated by the API, parsed again by the worker
  requestId: z.string().max(128),
  deadline: z.number().int(), // epoch ms: a job still waiting after this is dropped unexecuted
});
export type SearchJob = z.infer<typeof SearchJob>;

export interface SearchHit {
  documentId: string;
  chunkId: number;
  text: string;
  score: number;
  title: string | null;
  metadata: Record<string, unknown>;
}

export interface SearchResult {
  results: SearchHit[];
  seq: number; // the vector_log seq the answering index had applied
}
