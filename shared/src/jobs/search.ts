/** The search queue: sync, embed the query, search the index, hydrate rows. Results are never stored. */
import { z } from 'zod';
import { defineQueue, succeeded } from './queue-definition.js';
import { WherePayload } from './where-payload.js';

export const SearchJob = z.strictObject({
  query: z.string(),
  k: z.number().int().positive(),
  where: WherePayload.optional(),
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

export const searchQueue = defineQueue<'search', SearchJob, SearchResult>({
  name: 'search',
  payload: SearchJob,
  policy: {
    timeoutMs: (c) => c.SEARCH_TIMEOUT_MS,
    concurrency: (c) => c.SEARCH_CONCURRENCY,
    attempts: () => 1, // a retried search would answer nobody: its caller has its own deadline
    backoffMs: () => 0,
    isAwaited: true,
    isAttemptCapped: false,
    isOutcomeStored: false,
    outcomeLogLevel: 'debug', // the web's request line is a search's info line; the hot path stays light
  },
  retry: { isAllowed: false, reason: 'search jobs are not retried: search again' },
  outcomeStatus: succeeded,
});
