/** The words of a text that say something: what the extractive answerer matches and the relevance floor checks. */

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

/** Small English and Portuguese lists (accent-folded): words that match every question and say nothing. */
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in into is it its me my no not of on or ' +
    'our should so than that the their them then there these they this those to was we were what when where which who why will with ' +
    'would you your about any some tell explain describe please ' +
    'o os as um uma uns umas de do da dos das em no na nos nas por para com sem que qual quais quem como quando onde porque ' +
    'e ou mas se ao aos pelo pela pelos pelas ser esta este isso isto sao foi tem ha eu voce me sobre'
  ).split(' '),
);
