/** What every answerer offers the answer processor: a question plus retrieved passages in, an answer out. */
export interface Passage {
  documentId: string;
  chunkId: number;
  score: number; // cosine similarity, higher is closer
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

export interface Answerer {
  readonly id: string; // 'extractive' or 'ollama'
  answer(input: AnswerInput): Promise<Answer>;
  close(): Promise<void>;
}
