/** Words that match nearly every text and say nothing: left out of lexical queries and of the answerers' word matching. */

/** Small English and Portuguese lists (accent-folded): words that match every question and say nothing. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in into is it its me my no not of on or ' +
    'our should so than that the their them then there these they this those to was we were what when where which who why will with ' +
    'would you your about any some tell explain describe please ' +
    'o os as um uma uns umas de do da dos das em no na nos nas por para com sem que qual quais quem como quando onde porque ' +
    'e ou mas se ao aos pelo pela pelos pelas ser esta este isso isto sao foi tem ha eu voce me sobre'
  ).split(' '),
);
