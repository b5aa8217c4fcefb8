/**
 * The corpus as the worker sees it, computed in-process: the same chunker with the same settings and
 * the same builtin embedder (deterministic), so these vectors are the ones the worker stores. They
 * feed the raw addPoint baseline of the ingest figure and the exact search of the quality figures.
 */
import type { Config } from '../../shared/src/config.js';
import { chunkText } from '../../worker/src/chunk-text.js';
import { createBuiltinEmbedder } from '../../worker/src/embedders/builtin.js';
import type { CorpusDocument } from './factbook-corpus.js';

export interface EmbeddedChunk {
  label: number; // position in `vectors`, used as the raw index's label
  documentId: string;
  country: string;
  text: string;
}

export interface EmbeddedCorpus {
  chunks: EmbeddedChunk[];
  vectors: number[][];
  embedMs: number; // embedding alone, in the worker's batch size
}

export type ChunkConfig = Pick<Config, 'CHUNK_SIZE' | 'CHUNK_OVERLAP' | 'BUILTIN_EMBED_DIM' | 'EMBED_BATCH_SIZE'>;

export async function embedCorpus(documents: readonly CorpusDocument[], config: ChunkConfig): Promise<EmbeddedCorpus> {
  const embedder = createBuiltinEmbedder(config.BUILTIN_EMBED_DIM);
  const chunks: EmbeddedChunk[] = [];
  for (const document of documents) {
    for (const text of chunkText(document.text, { size: config.CHUNK_SIZE, overlap: config.CHUNK_OVERLAP })) {
      chunks.push({ label: chunks.length, documentId: document.id, country: document.metadata.country, text });
    }
  }
  const vectors: number[][] = [];
  const started = performance.now();
  for (let start = 0; start < chunks.length; start += config.EMBED_BATCH_SIZE) {
    vectors.push(...(await embedder.embed(chunks.slice(start, start + config.EMBED_BATCH_SIZE).map((chunk) => chunk.text))));
  }
  return { chunks, vectors, embedMs: performance.now() - started };
}

export async function embedTexts(texts: readonly string[], dimension: number): Promise<number[][]> {
  return createBuiltinEmbedder(dimension).embed([...texts]);
}
