/**
 * The ways a call to Ollama fails, as types the worker can tell apart. They are plain Errors, not
 * AppErrors, on purpose: the job wrapper retries anything that is not an AppError, and
 * every one of these can be cured by time or an operator (Ollama back up, model pulled).
 * The start-up path tells them apart: a missing model is fatal, an unreachable Ollama is degraded.
 */

/** Ollama did not answer (connection refused or reset) or stayed busy (503) through every retry. */
export class OllamaUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OllamaUnavailableError';
  }
}

/** One call got no reply (or, streaming, no token) within OLLAMA_TIMEOUT_MS. */
export class OllamaTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    what: string,
  ) {
    super(`ollama ${what} got no reply within ${timeoutMs} ms (OLLAMA_TIMEOUT_MS)`);
    this.name = 'OllamaTimeoutError';
  }
}

/** The model is not on the Ollama server: an operator must pull it. */
export class OllamaModelMissingError extends Error {
  constructor(
    readonly model: string,
    host: string,
    options?: ErrorOptions,
  ) {
    super(`ollama model "${model}" is not available at ${host}; run \`ollama pull ${model}\` on that host`, options);
    this.name = 'OllamaModelMissingError';
  }
}

/** Ollama answered something we cannot use: an error status, a body that is not the JSON we expect, a cut stream. */
export class OllamaResponseError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'OllamaResponseError';
  }
}

/**
 * The worker started degraded with the embedder id stored in index_meta, and the live model, once
 * reachable, turned out to be another one (digest or dimension changed): every vector it makes would
 * be incomparable with the index. Not curable by retrying; the worker should exit and be reindexed.
 */
export class OllamaEmbedderChangedError extends Error {
  constructor(
    readonly expectedId: string,
    readonly actualId: string,
  ) {
    super(
      `the index was built with embedder ${expectedId} but Ollama now serves ${actualId}; ` +
        'restore the model or reindex every document with the new embedder',
    );
    this.name = 'OllamaEmbedderChangedError';
  }
}
