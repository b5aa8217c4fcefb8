/**
 * What a collection's owner chooses as its embedder, in one string form (DESIGN.md §13): `builtin`
 * (feature hashing at the deployment's BUILTIN_EMBED_DIM), `builtin:<dimension>`, or
 * `ollama:<model>` (an Ollama embedding model, e.g. `ollama:nomic-embed-text`). The spec names the
 * model; the fingerprint a worker records for a collection's generation (embedder id with the
 * model's digest, and the dimension) names the exact vector space.
 */
import { z } from 'zod';
import type { Config } from './config.js';

const DIMENSION = '6[4-9]|[7-9][0-9]|[1-9][0-9]{2}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-6]'; // 64..4096, as BUILTIN_EMBED_DIM
const MODEL = '[A-Za-z0-9][A-Za-z0-9._/-]{0,120}(?::[A-Za-z0-9._-]{1,60})?'; // name, optional namespace and tag
const BUILTIN = new RegExp(`^builtin(?::(${DIMENSION}))?$`);
const OLLAMA = new RegExp(`^ollama:(${MODEL})$`);

/** One pattern for both forms, so the OpenAPI description states exactly what is accepted. */
export const EmbedderSpec = z
  .string()
  .regex(new RegExp(`^(?:builtin(?::(?:${DIMENSION}))?|ollama:${MODEL})$`), 'must be builtin, builtin:<dimension 64-4096> or ollama:<model>')
  .describe('builtin, builtin:<dimension> or ollama:<model>');
export type EmbedderSpec = z.infer<typeof EmbedderSpec>;

export type ParsedEmbedderSpec = { provider: 'builtin'; dimension: number | null } | { provider: 'ollama'; model: string };

/** The parts of a spec; null when it is not one. */
export function parseEmbedderSpec(spec: string): ParsedEmbedderSpec | null {
  const builtin = BUILTIN.exec(spec);
  if (builtin !== null) return { provider: 'builtin', dimension: builtin[1] === undefined ? null : Number(builtin[1]) };
  const ollama = OLLAMA.exec(spec);
  return ollama?.[1] === undefined ? null : { provider: 'ollama', model: ollama[1] };
}

/** The deployment's embedder (EMBEDDER, EMBED_MODEL) as a spec: what a collection gets when its creator names none. */
export function defaultEmbedderSpec(config: Pick<Config, 'EMBEDDER' | 'EMBED_MODEL'>): string {
  return config.EMBEDDER === 'ollama' ? `ollama:${config.EMBED_MODEL}` : 'builtin';
}
