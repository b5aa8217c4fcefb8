/**
 * What a collection's owner chooses as its embedder, in one string form (DESIGN.md §13): `builtin`
 * (feature hashing at the deployment's BUILTIN_EMBED_DIM), `builtin:<dimension>`, or
 * `ollama:<model>` (an Ollama embedding model, e.g. `ollama:nomic-embed-text`). The spec names the
 * model; the fingerprint a worker records for a collection's generation (embedder id with the
 * model's digest, and the dimension) names the exact vector space.
 */
import { z } from 'zod';
import type { Config } from './config.js';

const BUILTIN = /^builtin(?::([1-9][0-9]{1,3}))?$/;
const OLLAMA = /^ollama:([A-Za-z0-9][A-Za-z0-9._\-/]{0,120}(?::[A-Za-z0-9._-]{1,60})?)$/;

export const EmbedderSpec = z
  .string()
  .max(200)
  .refine((spec) => parseEmbedderSpec(spec) !== null, 'must be builtin, builtin:<dimension 64-4096> or ollama:<model>')
  .describe('builtin, builtin:<dimension> or ollama:<model>');
export type EmbedderSpec = z.infer<typeof EmbedderSpec>;

export type ParsedEmbedderSpec = { provider: 'builtin'; dimension: number | null } | { provider: 'ollama'; model: string };

/** The parts of a spec; null when it is not one. */
export function parseEmbedderSpec(spec: string): ParsedEmbedderSpec | null {
  const builtin = BUILTIN.exec(spec);
  if (builtin !== null) {
    const dimension = builtin[1] === undefined ? null : Number(builtin[1]);
    return dimension === null || (dimension >= 64 && dimension <= 4096) ? { provider: 'builtin', dimension } : null;
  }
  const ollama = OLLAMA.exec(spec);
  return ollama?.[1] === undefined ? null : { provider: 'ollama', model: ollama[1] };
}

/** The deployment's embedder (EMBEDDER, EMBED_MODEL) as a spec: what a collection gets when its creator names none. */
export function defaultEmbedderSpec(config: Pick<Config, 'EMBEDDER' | 'EMBED_MODEL'>): string {
  return config.EMBEDDER === 'ollama' ? `ollama:${config.EMBED_MODEL}` : 'builtin';
}
