/**
 * The Ollama embedder. Its id names the vector space exactly — `ollama:<model>:<digest 12>:<dimension>`
 * — because one model name has produced different vectors across Ollama versions; the worker compares it with
 * index_meta before loading the index. At start it checks the model is there (`show`), probes the
 * dimension with one embed call and reads the digest from `/api/tags`.
 *
 * Ollama down at start-up: with the id stored in index_meta (`expectedId`) the embedder
 * starts degraded under that id and verifies it lazily before its first embed; without one (a fresh
 * database, nothing to serve yet) it keeps probing for `startupTimeoutMs` and then throws
 * OllamaUnavailableError, so the worker exits non-zero and the platform restarts it with back-off.
 * Every vector passes checkVectors before it is returned, so a bad vector never reaches SQL (O3, O4).
 */
import type { Config } from '../../../shared/src/config.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import { checkVectors } from './check-vectors.js';
import type { Embedder } from './embedder.js';
import { backoffMs, createOllamaCallerFromConfig, type OllamaClientOptions, type OllamaCaller, type RetryPolicy } from '../ollama/ollama-caller.js';
import { raceAbort, sleep } from '../../../shared/src/time-limits.js';
import {
  OllamaEmbedderChangedError,
  OllamaModelMissingError,
  OllamaResponseError,
  OllamaTimeoutError,
  OllamaUnavailableError,
} from '../ollama/ollama-errors.js';

export type OllamaEmbedderConfig = Pick<Config, 'OLLAMA_HOST' | 'EMBED_MODEL' | 'OLLAMA_TIMEOUT_MS' | 'OLLAMA_MAX_CONCURRENCY'>;

/** An Embedder that can say whether Ollama is serving it, for the heartbeat and /status. */
export interface OllamaEmbedder extends Embedder {
  readonly isReady: boolean;
  readonly degradedReason: string | null; // why it is not ready, or null
}

export interface OllamaEmbedderOptions extends OllamaClientOptions {
  expectedId?: string | null; // index_meta's embedder id: lets the worker start degraded when Ollama is down
  startupTimeoutMs?: number; // without a usable expectedId: how long to keep probing before giving up (30 s)
}

interface ModelIdentity {
  id: string;
  dimension: number;
}

const PROBE_TEXT = 'colmeia dimension probe';
const STARTUP_BACKOFF: RetryPolicy = { attempts: 0, baseDelayMs: 1_000, maxDelayMs: 10_000 }; // between start-up probe rounds

export async function createOllamaEmbedder(config: OllamaEmbedderConfig, logger: Logger, options: OllamaEmbedderOptions = {}): Promise<OllamaEmbedder> {
  const model = config.EMBED_MODEL;
  const caller = createOllamaCallerFromConfig(config, model, logger, options);
  const expected = options.expectedId ? parseOllamaEmbedderId(options.expectedId) : null;
  const usableExpected = expected !== null && sameModel(expected.model, model) ? expected : null;
  const budgetMs = usableExpected !== null ? 0 : (options.startupTimeoutMs ?? 30_000);
  const startedAt = Date.now();

  for (let round = 1; ; round += 1) {
    try {
      const identity = await probeModel(caller, model);
      logger.info('ollama embedder ready', { embedder: identity.id, host: caller.host });
      return buildEmbedder(caller, model, logger, identity, null);
    } catch (err) {
      if (!isTransient(err)) {
        caller.close();
        throw err;
      }
      const delayMs = backoffMs(STARTUP_BACKOFF, round);
      if (Date.now() - startedAt + delayMs > budgetMs) {
        if (usableExpected !== null) {
          logger.warn('ollama unreachable at start-up; starting degraded', { embedder: usableExpected.id, err: serializeError(err) });
          return buildEmbedder(caller, model, logger, usableExpected, err);
        }
        caller.close();
        throw new OllamaUnavailableError(
          `ollama at ${caller.host} did not answer the start-up probe of model "${model}" within ${budgetMs} ms, ` +
            'and no index exists yet to start degraded with',
          { cause: err },
        );
      }
      logger.warn('ollama unreachable at start-up; probing again', { round, delayMs, err: serializeError(err) });
      await sleep(delayMs);
    }
  }
}

/** Splits `ollama:<model>:<digest12>:<dimension>` (the model name may hold ':'); null when it is not one. */
export function parseOllamaEmbedderId(id: string): { id: string; model: string; digest: string; dimension: number } | null {
  const match = /^ollama:(.+):([0-9a-f]{12}):([1-9][0-9]*)$/.exec(id);
  if (match === null) return null;
  const [, model = '', digest = '', dimension = ''] = match;
  return { id, model, digest, dimension: Number(dimension) };
}

function buildEmbedder(caller: OllamaCaller, model: string, logger: Logger, identity: ModelIdentity, startupError: unknown): OllamaEmbedder {
  const { id, dimension } = identity;
  let isVerified = startupError === null;
  let lastFailure: string | null = startupError === null ? null : describe(startupError);
  let mismatch: OllamaEmbedderChangedError | null = null;
  let verification: Promise<void> | null = null;

  /** One probe at a time for all callers; each caller stops waiting when its own signal aborts. */
  async function ensureVerified(signal: AbortSignal | undefined): Promise<void> {
    if (mismatch !== null) throw mismatch;
    if (isVerified) return;
    verification ??= probeModel(caller, model)
      .then((live) => {
        if (live.id !== id) {
          mismatch = new OllamaEmbedderChangedError(id, live.id);
          logger.error('ollama embedder changed since the index was built', { expected: id, actual: live.id });
          throw mismatch;
        }
        isVerified = true;
        lastFailure = null;
        logger.info('ollama embedder verified; leaving degraded mode', { embedder: id });
      })
      .finally(() => {
        verification = null;
      });
    await (signal === undefined ? verification : raceAbort(verification, signal));
  }

  return {
    id,
    dimension,
    get isReady() {
      return isVerified && mismatch === null && lastFailure === null;
    },
    get degradedReason() {
      return mismatch?.message ?? lastFailure ?? (isVerified ? null : 'ollama embedder not verified yet');
    },
    async embed(texts, signal) {
      signal?.throwIfAborted();
      if (texts.length === 0) return [];
      try {
        await ensureVerified(signal);
        const reply: unknown = await caller.call('embed', ({ client }) => client.embed({ model, input: texts }), signal);
        const vectors = checkVectors(isRecord(reply) ? reply['embeddings'] : reply, texts.length, dimension);
        lastFailure = null;
        return vectors;
      } catch (err) {
        if (isTransient(err)) lastFailure = describe(err);
        throw err;
      }
    },
    async close() {
      caller.close();
    },
  };
}

/** show (model present?), one embed (dimension, and a sanity check of the vector), tags (digest). */
async function probeModel(caller: OllamaCaller, model: string): Promise<ModelIdentity> {
  await caller.call('show', ({ client }) => client.show({ model }));
  const reply: unknown = await caller.call('embed', ({ client }) => client.embed({ model, input: [PROBE_TEXT] }));
  const embeddings = isRecord(reply) ? reply['embeddings'] : undefined;
  const first: unknown = Array.isArray(embeddings) ? embeddings[0] : undefined;
  if (!Array.isArray(first) || first.length === 0) {
    throw new OllamaResponseError(`ollama embed of model "${model}" returned no vector for the dimension probe`);
  }
  checkVectors(embeddings, 1, first.length);
  const tags: unknown = await caller.call('list', ({ client }) => client.list());
  const models: unknown = isRecord(tags) ? tags['models'] : undefined;
  const entry = (Array.isArray(models) ? models : []).find(
    (item: unknown): item is Record<string, unknown> => isRecord(item) && typeof item['name'] === 'string' && sameModel(item['name'], model),
  );
  if (entry === undefined) throw new OllamaModelMissingError(model, caller.host);
  const digest = typeof entry['digest'] === 'string' ? entry['digest'].replace(/^sha256:/, '').toLowerCase() : '';
  if (!/^[0-9a-f]{12,}$/.test(digest)) {
    throw new OllamaResponseError(`ollama lists model "${model}" without a usable digest (${JSON.stringify(entry['digest'])})`);
  }
  return { id: `ollama:${String(entry['name'])}:${digest.slice(0, 12)}:${first.length}`, dimension: first.length };
}

/** Failures that time or a restarted Ollama can cure; a missing model, a 4xx or bad vectors need a person. */
function isTransient(err: unknown): boolean {
  if (err instanceof OllamaUnavailableError || err instanceof OllamaTimeoutError) return true;
  if (err instanceof OllamaResponseError) return err.status === undefined || err.status >= 500;
  return false;
}

/** Ollama resolves a name without a tag to ":latest", case-insensitively. */
function sameModel(a: string, b: string): boolean {
  const withTag = (name: string): string => ((name.split('/').pop() ?? name).includes(':') ? name : `${name}:latest`);
  return withTag(a).toLowerCase() === withTag(b).toLowerCase();
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
