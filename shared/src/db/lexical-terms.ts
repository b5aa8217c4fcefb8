/**
 * The words the lexical index holds and the queries it is asked, made in TypeScript so SQLite and
 * Postgres see the same tokens: text is folded like the builtin embedder folds it (NFKD, marks
 * removed, lower case; final sigma as sigma), cut into runs of letters and digits, and only then
 * handed to the engine. User text never reaches an engine's query parser: a query becomes a list
 * of quoted terms joined by OR, so `"`, `*`, `NEAR`, `:`, `&`, `|`, `!`, `(`, `-`, `^` are at most
 * separators, never operators.
 */
import { STOP_WORDS } from '../stop-words.js';

const WORD = /[\p{L}\p{N}]+/gu;
const MARKS = /\p{M}+/gu;
const MAX_TERM_CHARS = 100; // longer runs (hashes, base64) are not words: both engines skip them alike
const MAX_QUERY_TERMS = 128; // distinct terms of one query; MAX_QUERY_CHARS bounds it already, this bounds the SQL
const MAX_POSITION = 16_383; // Postgres keeps positions 1..16383 in a tsvector
const MAX_POSITIONS_PER_TERM = 256; // and at most 256 positions per lexeme

/** The folded words of `text`, in order, repeats kept. */
export function lexicalTerms(text: string): string[] {
  const folded = text.normalize('NFKD').replace(MARKS, '').toLowerCase().replace(/ς/g, 'σ');
  return (folded.match(WORD) ?? []).filter((term) => term.length <= MAX_TERM_CHARS);
}

/**
 * The distinct folded words of a query, first occurrence first, at most MAX_QUERY_TERMS, stop words
 * left out unless the query has nothing else ("to be or not to be"). Measured on the benchmark's
 * held-out sentences: 3-5× faster lexical queries (a stop word matches nearly every chunk, and bm25
 * scores every match) for 1.5 % less MRR@10.
 */
export function queryTerms(text: string): string[] {
  const terms = [...new Set(lexicalTerms(text))];
  const telling = terms.filter((term) => !STOP_WORDS.has(term));
  return (telling.length > 0 ? telling : terms).slice(0, MAX_QUERY_TERMS);
}

/**
 * The token a collection's term is stored and searched as: the collection id in hex, `x`, the term.
 * One engine table serves every collection, but each collection's terms are distinct tokens, so a
 * query reads only its own collection's posting lists, and a term's document frequency (bm25's idf)
 * counts the collection's chunks only: a search's cost follows its own collection's matches.
 * Hex keeps the token letters and digits (both engines take it as one word) and the map one-to-one.
 */
export function scopeTerms(collection: string, terms: readonly string[]): string[] {
  const prefix = `${Buffer.from(collection, 'utf8').toString('hex')}x`;
  return terms.map((term) => prefix + term);
}

/** What SQLite's FTS5 table stores for a chunk: its scoped folded words, space-separated. */
export function ftsDocument(collection: string, text: string): string {
  return scopeTerms(collection, lexicalTerms(text)).join(' ');
}

/** An FTS5 MATCH expression: each term an FTS5 string, joined by OR (recall first; bm25 ranks). */
export function ftsQuery(terms: readonly string[]): string {
  return terms.map((term) => `"${term.replace(/"/g, '""')}"`).join(' OR ');
}

/** A tsvector literal (`'term':1,4 'other':2`) of the scoped words, read by `::tsvector` without any parser or dictionary. */
export function tsvectorLiteral(collection: string, text: string): string {
  const positions = new Map<string, number[]>();
  scopeTerms(collection, lexicalTerms(text)).forEach((term, i) => {
    const list = positions.get(term) ?? [];
    if (list.length < MAX_POSITIONS_PER_TERM) list.push(Math.min(i + 1, MAX_POSITION));
    positions.set(term, list);
  });
  return [...positions].map(([term, list]) => `${quoteLexeme(term)}:${[...new Set(list)].join(',')}`).join(' ');
}

/** A tsquery literal (`'a' | 'b'`), read by `::tsquery` without any parser or dictionary. */
export function tsqueryLiteral(terms: readonly string[]): string {
  return terms.map(quoteLexeme).join(' | ');
}

/** Terms are letters and digits only, but quote and escape anyway: the literal must never be syntax. */
function quoteLexeme(term: string): string {
  return `'${term.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
