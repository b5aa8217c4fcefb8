/**
 * Embedding and committing chunks fenced on the collection's generations (DESIGN.md §13): the texts
 * are embedded by the current generation's embedder, and also by the one a running reindex builds;
 * the commit checks both are still what the collection has, and when a reindex started or swapped
 * meanwhile (GenerationChangedError) they are embedded again, up to FENCE_TRIES times in one attempt.
 * Used by ingest (one document) and ingest-batch (every chunk of a batch at once).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { NewChunk } from '../../../shared/src/db/chunks-repo.js';
import { GenerationChangedError, readCollectionGenerations } from '../../../shared/src/db/generations-repo.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { TextSpan } from '../chunk-text.js';
import type { Embedder } from '../embedders/embedder.js';
import { embedderForGeneration } from '../embedders/generation-embedder.js';
import type { Services } from '../services.js';

type FencedServices = Pick<Services, 'config' | 'db' | 'embedders'>;

const FENCE_TRIES = 5; // embeddings made again within one attempt when a reindex moved the generation meanwhile

/** The generations the vectors were made for: the collection's current one, and the one a reindex builds (its vectors of the same texts). */
export interface FencedGenerations {
  generation: number;
  staged: { generation: number; embeddings: number[][] } | undefined;
}

type Commit<T> = (generations: FencedGenerations, chunks: NewChunk[]) => Promise<T>;

interface FencedInput<T> {
  collection: string;
  gone: T; // the answer when the collection no longer exists
  texts: string[];
  logger: Logger;
  onProgress: (embedded: number) => void;
}

/** Embeds the chunks for the collection's generations (current, and the one being built) and commits them; again when the fence refuses. */
export async function commitFenced<T>(s: FencedServices, input: FencedInput<T>, commit: Commit<T>): Promise<T> {
  const { collection, texts } = input;
  const signal = AbortSignal.timeout(s.config.INGEST_TIMEOUT_MS);
  // Texts embedded in one call have no progress to show between start and end (GET /jobs says 100
  // once the job succeeded): no Redis write for them, which is most small documents.
  const onProgress = texts.length > s.config.EMBED_BATCH_SIZE ? input.onProgress : () => undefined;
  for (let attempt = 1; ; attempt++) {
    const state = await readCollectionGenerations(s.db, collection);
    if (!state) return input.gone;
    const current = await embedderForGeneration(s, collection, state.current);
    const building = state.building === null ? null : await embedderForGeneration(s, collection, state.building);
    onProgress(0);
    const chunks = await embedChunks(current.embedder, s.config.EMBED_BATCH_SIZE, texts, signal, onProgress);
    const staged =
      building === null || state.building === null
        ? undefined
        : {
            generation: state.building.generation,
            embeddings: (await embedChunks(building.embedder, s.config.EMBED_BATCH_SIZE, texts, signal, () => undefined)).map((c) => c.embedding),
          };
    try {
      return await commit({ generation: state.current.generation, staged }, chunks);
    } catch (err) {
      if (!(err instanceof GenerationChangedError) || attempt >= FENCE_TRIES) throw err;
      input.logger.info('generation moved while embedding; embedding again', { collection, attempt, reason: err.message });
    }
  }
}

async function embedChunks(
  embedder: Embedder,
  batchSize: number,
  texts: string[],
  signal: AbortSignal,
  onProgress: (embedded: number) => void,
): Promise<NewChunk[]> {
  const chunks: NewChunk[] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    const batch = texts.slice(start, start + batchSize);
    const vectors = await embedder.embed(batch, signal);
    batch.forEach((text, i) => chunks.push({ text, embedding: vectors[i] ?? [] }));
    onProgress(chunks.length);
    // A CPU-bound embedder never yields on its own: let timers run, or Bee-Queue's stall guard
    // (every STALL_INTERVAL_MS / 2) misses its turn and a live job is taken for a dead one.
    await yieldToEventLoop();
  }
  return chunks;
}

/** The chunks with where each lies in the document's text. */
export function withSpans(chunks: NewChunk[], spans: TextSpan[]): NewChunk[] {
  return chunks.map((chunk, i) => {
    const span = spans[i];
    return span === undefined ? chunk : { ...chunk, span: { start: span.start, end: span.end } };
  });
}
