/** What the assistant message that ends a question carries in its metadata: the answer's sources, or why none came. */

/** The error code of a question whose answer was cancelled (POST /jobs/answer/:id/cancel). */
export const CANCELLED_CODE = 'cancelled';

export interface AnswerSource {
  documentId: string;
  chunkId: number;
  score: number;
  title: string | null; // source n of the answer text is sources[n - 1]
}

/** Metadata of the assistant message that answers a question. */
export interface AnalysisResult {
  type: 'analysis_result';
  sources: AnswerSource[];
  jobId: string;
  answerer: string; // 'extractive' | 'ollama'
  model: string | null;
  grounded: boolean; // false: no stored passage was relevant, and the answer says so
  retrievalQuery: string; // what was searched: the question made standalone, or with its earlier turns
  citations: { valid: number[]; invalid: number[] }; // the answer's [n] that name a source it was given, and those that name none
  timings: { retrieveMs: number; generateMs: number; totalMs: number };
}

/** Metadata of the assistant message stored when no answer will come: failed for good, or cancelled. */
export interface AnalysisError {
  type: 'analysis_error';
  error: { code: string; message: string }; // code 'cancelled' for a cancelled question
  jobId: string;
}
