/** The words of a text that say something: what the extractive answerer matches and the relevance floor checks. */
import { STOP_WORDS } from '../../../shared/src/stop-words.js';

/** Accent-folded, lower-cased words without stop words; a plural "s" is dropped so "indexes" meets "index". */
export function contentWords(text: string): string[] {
  const words =
    text
      .normalize('NFD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  return words
    .filter((word) => word.length > 1 && !STOP_WORDS.has(word))
    .map((word) => (word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word));
}
