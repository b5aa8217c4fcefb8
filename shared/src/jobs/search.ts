/** The search queue: vector, lexical or hybrid retrieval (DESIGN.md §12), rows hydrated. Results are never stored. */
import { z } from 'zod';
import { CollectionId, DEFAULT_COLLECTION } from '../input.js';
import { defineQueue, succeeded } from './queue-definition.js';
import { WherePayload } from './where-payload.js';

export const SEARCH_MODES = ['hybrid', 'vector', 'lexical'] as const;
export const SearchMode = z.enum(SEARCH_MODES);
export type SearchMode = z.infer<typeof SearchMode>;

export const SearchJob = z.strictObject({
  collection: CollectionId.default(DEFAULT_COLLECTION),
  query: z.string(),
  k: z.number().int().positive(),
  where: WherePayload.optional(),
  mode: SearchMode.default('hybrid'),
  minScore: z.number().finite().optional(), // on `score`, whose scale depends on the mode (see SearchHit)
  minSeq: z.number().int().nonnegative().optional(), // refuse (index_behind) to answer from an index that has not applied this seq
  requestId: z.string().max(128),
  deadline: z.number().int(), // epoch ms: a job still waiting after this is dropped unexecuted
});
export type SearchJob = z.infer<typeof SearchJob>;

export interface SearchHit {
  documentId: string;
  chunkId: number;
  text: string;
  score: number; // hybrid: fused RRF score / its maximum, in (0, 1]; vector: vectorScore; lexical: lexicalScore
  vectorScore: number | null; // cosine similarity, higher is closer; null when the vector side did not return the chunk
  lexicalScore: number | null; // engine relevance, higher is better (SQLite -bm25, Postgres ts_rank_cd); null when absent
  vectorRank: number | null; // 1-based rank on the vector side, null when absent
  lexicalRank: number | null; // 1-based rank on the lexical side, null when absent
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
    isRetryIsolated: false,
    outcomeLogLevel: 'debug', // the web's request line is a search's info line; the hot path stays light
  },
  retry: { isAllowed: false, reason: 'search jobs are not retried: search again' },
  outcomeStatus: succeeded,
});
