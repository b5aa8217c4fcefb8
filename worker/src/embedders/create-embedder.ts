/**
 * Picks the embedder named by config.EMBEDDER, so startServices has one call to make and tests choose
 * the embedder through config alone. Ollama options (the shared concurrency limit, the
 * index's stored embedder id for a degraded start) are passed through; the builtin embedder needs none.
 */
import type { Config } from '../../../shared/src/config.js';
import type { Logger } from '../../../shared/src/logger.js';
import { createBuiltinEmbedder } from './builtin.js';
import type { Embedder } from './embedder.js';
import { createOllamaEmbedder, type OllamaEmbedderConfig, type OllamaEmbedderOptions } from './ollama.js';

export type EmbedderConfig = Pick<Config, 'EMBEDDER' | 'BUILTIN_EMBED_DIM'> & OllamaEmbedderConfig;

export async function createEmbedder(config: EmbedderConfig, logger: Logger, options: OllamaEmbedderOptions = {}): Promise<Embedder> {
  switch (config.EMBEDDER) {
    case 'ollama':
      return createOllamaEmbedder(config, logger, options);
    case 'builtin':
      return createBuiltinEmbedder(config.BUILTIN_EMBED_DIM);
  }
}

export interface EmbedderHealth {
  isReady: boolean;
  degradedReason: string | null; // null when ready
}

/** For the heartbeat and /status: the Ollama embedder may be degraded; the builtin one is always ready. */
export function embedderHealth(embedder: Embedder): EmbedderHealth {
  if (!('isReady' in embedder) || typeof embedder.isReady !== 'boolean') return { isReady: true, degradedReason: null };
  const reason = 'degradedReason' in embedder && typeof embedder.degradedReason === 'string' ? embedder.degradedReason : null;
  return { isReady: embedder.isReady, degradedReason: embedder.isReady ? null : (reason ?? 'not ready') };
}
