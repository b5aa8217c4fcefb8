/**
 * The embedders of this worker, one per distinct embedder spec (DESIGN.md §13): every collection
 * whose generation names `ollama:nomic-embed-text` shares one, and all of them share the Ollama
 * concurrency limit. An embedder that could not be made (Ollama down with nothing recorded to start
 * degraded with, a missing model) is not kept: it is tried again EMBEDDER_RETRY_MS after it failed
 * (until then its failure is the answer, so a down Ollama costs one probe, not one per job), and the
 * collection recovers by itself when Ollama does.
 */
import type { Logger } from '../../../shared/src/logger.js';
import type { ConcurrencyLimit } from '../ollama/concurrency-limit.js';
import { createEmbedderForSpec, type EmbedderConfig } from './create-embedder.js';
import type { Embedder } from './embedder.js';

export class EmbedderRegistry {
  private readonly made = new Map<string, Promise<Embedder>>();

  constructor(
    private readonly config: EmbedderConfig & { EMBEDDER_RETRY_MS: number },
    private readonly logger: Logger,
    private readonly limit: ConcurrencyLimit,
  ) {}

  /** The embedder of `spec`; `expectedId` (a recorded fingerprint) lets an Ollama one start degraded while Ollama is down. */
  get(spec: string, expectedId: string | null): Promise<Embedder> {
    const known = this.made.get(spec);
    if (known !== undefined) return known;
    const made = createEmbedderForSpec(spec, this.config, this.logger.child({ embedder: spec }), { limit: this.limit, expectedId, startupTimeoutMs: 0 });
    this.made.set(spec, made);
    made.catch(() => {
      const forget = setTimeout(() => {
        if (this.made.get(spec) === made) this.made.delete(spec); // tried again on the next look after this
      }, this.config.EMBEDDER_RETRY_MS);
      forget.unref();
    });
    return made;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.made.values()].map(async (made) => (await made).close()));
  }
}
