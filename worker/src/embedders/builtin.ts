/**
 * The default embedder: deterministic feature hashing, with no model and no network. It is lexical and
 * honest about it: two texts are near when they share words, word pairs or spelling fragments, not when they share only
 * meaning. Texts are accent-folded and lower-cased; word unigrams, word bigrams and boundary-marked character 3-grams are
 * hashed (FNV-1a over UTF-16 code units, then a murmur3 finaliser) into `dimension` signed buckets with sublinear term
 * frequency. Changing anything here changes the vector space, so it must come with a new id (`builtin-hash-v2`, ...).
 */
import { checkVectors } from './check-vectors.js';
import type { Embedder } from './embedder.js';

/** Builds the feature-hashing embedder; its id names the algorithm version and the dimension. */
export function createBuiltinEmbedder(dimension: number): Embedder {
  if (!Number.isInteger(dimension) || dimension < 1) {
    throw new RangeError(`builtin embedder dimension must be a positive integer, got ${dimension}`);
  }
  return {
    id: `builtin-hash-v1:${dimension}`,
    dimension,
    // The work is synchronous, so an abort cannot arrive while it runs: checking once before it is enough.
    embed: async (texts, signal) => {
      signal?.throwIfAborted();
      return checkVectors(
        texts.map((text) => hashText(text, dimension)),
        texts.length,
        dimension,
      );
    },
    close: async () => {},
  };
}

/** Weights per feature kind: words dominate, pairs add word order, 3-grams add robustness to inflection and typos. */
const WORD_WEIGHT = 1;
const PAIR_WEIGHT = 0.7;
const GRAM_WEIGHT = 0.35;
const STOP_WEIGHT = 0.25;

/** Each kind hashes from its own seed, so the word "cat" and the 3-gram "cat" are different features. */
const FNV_OFFSET = 0x811c9dc5 | 0;
const WORD_SEED = fnvStep(FNV_OFFSET, 0x77); // 'w'
const PAIR_SEED = fnvStep(FNV_OFFSET, 0x70); // 'p'
const GRAM_SEED = fnvStep(FNV_OFFSET, 0x67); // 'g'
const WORD_START = 0x5e; // '^' and '$' mark word boundaries in 3-grams; tokens hold only letters and digits
const WORD_END = 0x24;

/**
 * A text without a letter or digit (empty, punctuation, emoji), or the rare text whose signed features cancel to exactly
 * zero, gets a unit vector on one fixed bucket: valid for checkVectors, equal for all such texts and close to no real text.
 */
const EMPTY_BUCKET_HASH = fmix32(fnvString(FNV_OFFSET, '\u0000empty'));

const TOKEN = /[\p{L}\p{N}]+/gu;
const NON_ASCII = /\P{ASCII}/u;
const COMBINING_MARKS = /\p{M}+/gu;

/** Tiny English and Portuguese lists, accent-folded. They are down-weighted, not dropped: "to be or not to be" still embeds. */
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an and are as at be but by for from had has have he her his i if in into is it its of on or our she so than that ' +
    'the their them then there these they this those to was we were what when which who will with you your ' +
    'ao aos as com da das de do dos e ela ele em entre era foi na nas no nos o os ou para pela pelo por que se sem ser ' +
    'sua seu um uma umas uns'
  ).split(' '),
);

/**
 * A feature is its hash with the low two bits replaced by its kind, which picks the weight. Term frequencies are counted
 * in an open-addressing table of typed arrays sized for the text: about twice as fast as a Map, and nothing is allocated
 * per feature.
 */
const WORD = 0;
const PAIR = 1;
const GRAM = 2;
const STOP = 3; // a stop word, or a pair of two stop words; stop words give no 3-grams

interface FeatureCounts {
  readonly features: Int32Array;
  readonly counts: Int32Array; // 0 marks an empty slot
  readonly shift: number;
}

function hashText(text: string, dimension: number): number[] {
  const vector = new Array<number>(dimension).fill(0);
  addFeatures(vector, countFeatures(tokenize(text)));
  if (!vector.some((value) => value !== 0)) vector[(EMPTY_BUCKET_HASH >>> 1) % dimension] = 1;
  return vector;
}

/** NFKD then lower case (compatibility forms such as "Ⅻ" decompose to capitals), then drop the combining marks. */
function tokenize(text: string): string[] {
  const folded = NON_ASCII.test(text) ? text.normalize('NFKD').toLowerCase().replace(COMBINING_MARKS, '') : text.toLowerCase();
  return folded.match(TOKEN) ?? [];
}

/** Every token gives a word, a pair with its predecessor and one 3-gram per character: at most 2 + length features. */
function countFeatures(tokens: readonly string[]): FeatureCounts {
  const table = createFeatureCounts(tokens.reduce((total, token) => total + 2 + token.length, 0));
  let previous: string | undefined;
  let isPreviousStop = false;
  for (const token of tokens) {
    const isStop = STOP_WORDS.has(token);
    increment(table, fnvString(WORD_SEED, token), isStop ? STOP : WORD);
    if (previous !== undefined) {
      const pair = fnvString(fnvStep(fnvString(PAIR_SEED, previous), 0x20), token); // hash of "previous token"
      increment(table, pair, isStop && isPreviousStop ? STOP : PAIR);
    }
    if (!isStop) addGrams(table, token);
    previous = token;
    isPreviousStop = isStop;
  }
  return table;
}

/** The 3-grams of "^token$", rolling over char codes so no substring is built: "cafe" gives ^ca, caf, afe, fe$. */
function addGrams(table: FeatureCounts, token: string): void {
  let first = WORD_START;
  let second = token.charCodeAt(0);
  for (let i = 1; i <= token.length; i++) {
    const third = i < token.length ? token.charCodeAt(i) : WORD_END;
    increment(table, fnvStep(fnvStep(fnvStep(GRAM_SEED, first), second), third), GRAM);
    first = second;
    second = third;
  }
}

/** At most half full, so linear probing stays short. */
function createFeatureCounts(maxFeatures: number): FeatureCounts {
  const bits = Math.max(4, Math.ceil(Math.log2(2 * maxFeatures + 1)));
  return { features: new Int32Array(2 ** bits), counts: new Int32Array(2 ** bits), shift: 32 - bits };
}

function increment(table: FeatureCounts, hash: number, kind: number): void {
  const feature = (hash & ~3) | kind;
  const mask = table.counts.length - 1;
  let slot = Math.imul(feature, 0x9e3779b1) >>> table.shift; // Fibonacci hashing: the high bits are the mixed ones
  while (table.counts[slot] !== 0 && table.features[slot] !== feature) slot = (slot + 1) & mask;
  table.features[slot] = feature;
  table.counts[slot] = (table.counts[slot] ?? 0) + 1;
}

/** Sublinear tf (1 + ln tf); the finalised hash gives the bucket (high 31 bits) and the sign (low bit). */
function addFeatures(vector: number[], table: FeatureCounts): void {
  const dimension = vector.length;
  for (let slot = 0; slot < table.counts.length; slot++) {
    const count = table.counts[slot] ?? 0;
    if (count === 0) continue;
    const feature = table.features[slot] ?? 0;
    const mixed = fmix32(feature);
    const bucket = (mixed >>> 1) % dimension;
    const value = weightOf(feature & 3) * (1 + Math.log(count));
    vector[bucket] = (vector[bucket] ?? 0) + ((mixed & 1) === 1 ? -value : value);
  }
}

function weightOf(kind: number): number {
  switch (kind) {
    case WORD:
      return WORD_WEIGHT;
    case PAIR:
      return PAIR_WEIGHT;
    case GRAM:
      return GRAM_WEIGHT;
    default:
      return STOP_WEIGHT;
  }
}

/** FNV-1a, one UTF-16 code unit per step, kept in int32 to fit the Int32Array of features. */
function fnvStep(hash: number, code: number): number {
  return Math.imul(hash ^ code, 0x01000193);
}

function fnvString(seed: number, text: string): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) hash = fnvStep(hash, text.charCodeAt(i));
  return hash;
}

/** murmur3's 32-bit finaliser: FNV-1a alone mixes short inputs poorly into the low bits that pick the bucket. */
function fmix32(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
