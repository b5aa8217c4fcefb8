/** What every embedder offers the worker: an id that names the vector space, and batch embedding. */
export interface Embedder {
  /** Names the vector space: vectors of two embedders are comparable only when their ids are equal. */
  readonly id: string;
  readonly dimension: number;
  /** One L2-normalised vector per text, in order; refuses NaN, Infinity, zero norm and a wrong dimension. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
  /** Releases connections; the builtin embedder has none. */
  close(): Promise<void>;
}
