/**
 * Checks the `[n]` citations of an answer against the sources it was given: source n exists when
 * 1 <= n <= the number of sources. A model may cite a number it was never given (the prompt forbids
 * it; models do it anyway), so every answer's metadata says which citations hold and which do not.
 * `[1, 2]` and `[1][2]` both cite 1 and 2. Bracketed numbers beyond MAX_CITATION are not read as
 * citations (years, amounts).
 */

export interface CitationCheck {
  valid: number[]; // cited and given, ascending
  invalid: number[]; // cited but not given, ascending
}

const MAX_CITATION = 999;
const CITATION = /\[\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\]/g;

export function checkCitations(content: string, sourceCount: number): CitationCheck {
  const cited = new Set<number>();
  for (const match of content.matchAll(CITATION)) {
    for (const part of (match[1] ?? '').split(',')) {
      const n = Number(part.trim());
      if (Number.isInteger(n) && n <= MAX_CITATION) cited.add(n);
    }
  }
  const sorted = [...cited].sort((a, b) => a - b);
  return { valid: sorted.filter((n) => n >= 1 && n <= sourceCount), invalid: sorted.filter((n) => n < 1 || n > sourceCount) };
}
