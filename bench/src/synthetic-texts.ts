/**
 * Chunk texts for synthetic vectors, so that the lexical side of a hybrid search has real work: each
 * chunk is a few words drawn from a vocabulary (the benchmark's query sentences), picked by a hash of
 * the seed and the chunk's position, so the same seed gives the same texts in any service and order.
 */

const WORDS_PER_CHUNK = 12;
const MIN_WORD_LENGTH = 4; // shorter words are mostly stop words, which lexical queries leave out

/** The distinct lower-case words of `texts`, in sorted order. */
export function vocabularyOf(texts: readonly string[]): string[] {
  const words = new Set<string>();
  for (const text of texts) for (const word of text.toLowerCase().match(/\p{L}+/gu) ?? []) if (word.length >= MIN_WORD_LENGTH) words.add(word);
  return [...words].sort();
}

/** The text of the chunk at `index`: WORDS_PER_CHUNK words of `vocabulary`, the same for the same seed and index. */
export function syntheticChunkText(vocabulary: readonly string[], seed: number): (index: number) => string {
  if (vocabulary.length === 0) throw new RangeError('an empty vocabulary makes no chunk text');
  return (index) => {
    const words: string[] = [];
    let state = mix(seed * 0x9e3779b1 + index);
    for (let i = 0; i < WORDS_PER_CHUNK; i++) {
      state = mix(state + i + 1);
      words.push(vocabulary[state % vocabulary.length] ?? '');
    }
    return words.join(' ');
  };
}

/** A 32-bit integer hash (murmur3's finaliser), non-negative. */
function mix(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
