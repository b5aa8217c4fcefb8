/** What every answerer offers the answer processor: a question plus retrieved passages in, an answer out. */
export interface Passage {
  documentId: string;
  chunkId: number;
  score: number; // the search score (hybrid: fused, in (0, 1]), higher is better
  vectorScore: number | null; // cosine similarity, null when only the lexical side found it
  title: string | null;
  text: string;
}

export interface AnswerInput {
  question: string;
  passages: Passage[]; // best first; source number n is passages[n - 1]
  signal: AbortSignal; // aborts the model call (job timeout, cancel, shutdown)
  onDelta: (text: string) => void; // streamed tokens, in order; may be lost by clients, never the stored answer
}

export interface Answer {
  content: string; // the final text, citing sources as [1], [2], ...
  model: string | null; // null for the extractive answerer
}

export interface RewriteInput {
  question: string;
  earlierQuestions: string[]; // the session's earlier user turns, oldest first
  signal: AbortSignal;
}

export interface Answerer {
  readonly id: string; // 'extractive' or 'ollama'
  answer(input: AnswerInput): Promise<Answer>;
  /** A follow-up made standalone with its conversation, when the answerer has a model for it; never rejects (falls back to the question). */
  rewriteQuestion?(input: RewriteInput): Promise<string>;
  close(): Promise<void>;
}
