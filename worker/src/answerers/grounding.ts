/**
 * The relevance floor of answers (DESIGN.md §12): a retrieved passage may ground an answer only if
 * it shares a content word with the retrieval query (a real lexical hit, not a stop word) or its
 * vector similarity reaches ANSWER_MIN_SCORE. Ranking always returns the best k, however poor; this
 * is what keeps an answerer from quoting the least bad passage as if it answered the question.
 */
import type { Passage } from './answerer.js';
import { contentWords } from './content-words.js';

export function relevantPassages(query: string, passages: readonly Passage[], minVectorScore: number): Passage[] {
  const queryWords = new Set(contentWords(query));
  return passages.filter(
    (passage) => (passage.vectorScore !== null && passage.vectorScore >= minVectorScore) || contentWords(passage.text).some((word) => queryWords.has(word)),
  );
}
