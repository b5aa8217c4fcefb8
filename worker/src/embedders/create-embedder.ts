/**
 * Builds the embedder an embedder spec names (shared/src/embedder-spec.ts): `builtin[:<dimension>]`
 * or `ollama:<model>`; createEmbedder builds the deployment's own (EMBEDDER, EMBED_MODEL). Ollama
 * options (the shared concurrency limit, the fingerprint recorded for a degraded start) are passed
 * through; the builtin embedder needs none.
 */
import type { Config } from '../../../shared/src/config.js';
import type { Logger } from '../../../shared/src/logger.js';
import { createBuiltinEmbedder } from './builtin.js';
import type { Embedder } from './embedder.js';
import { defaultEmbedderSpec, parseEmbedderSpec } from '../../../shared/src/embedder-spec.js';
import { createOllamaEmbedder, type OllamaEmbedderConfig, type OllamaEmbedderOptions } from './ollama.js';

export type EmbedderConfig = Pick<Config, 'EMBEDDER' | 'BUILTIN_EMBED_DIM'> & OllamaEmbedderConfig;

export async function createEmbedder(config: EmbedderConfig, logger: Logger, options: OllamaEmbedderOptions = {}): Promise<Embedder> {
  return createEmbedderForSpec(defaultEmbedderSpec(config), config, logger, options);
}

export async function createEmbedderForSpec(spec: string, config: EmbedderConfig, logger: Logger, options: OllamaEmbedderOptions = {}): Promise<Embedder> {
  const parsed = parseEmbedderSpec(spec);
  if (parsed === null) throw new Error(`embedder spec ${JSON.stringify(spec)} is not builtin, builtin:<dimension> or ollama:<model>`);
  switch (parsed.provider) {
    case 'ollama':
      return createOllamaEmbedder({ ...config, EMBED_MODEL: parsed.model }, logger, options);
    case 'builtin':
      return createBuiltinEmbedder(parsed.dimension ?? config.BUILTIN_EMBED_DIM);
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
