/**
 * The default answerer: no model, so it cannot invent anything. It quotes the sentences of
 * the top passages that share the most words with the question, in the order they appear, each cited
 * with its source number [n] (n is the passage's position, as for the Ollama answerer), then lists
 * the cited sources with their titles. The answer is emitted through onDelta in a few pieces so
 * clients see the same streaming shape whichever answerer runs.
 */
import type { Answer, Answerer, AnswerInput, Passage } from './answerer.js';
import { contentWords } from './content-words.js';

export const NO_PASSAGES_ANSWER =
  'No stored passage answers this question: nothing in the knowledge base shares its words or comes close enough to its meaning, so there is nothing to quote.';

const TOP_PASSAGES = 3; // passages considered, best first
const MAX_QUOTES = 4; // sentences quoted in all
const MAX_QUOTES_PER_PASSAGE = 2;
const MAX_QUOTE_CHARS = 400;

export function createExtractiveAnswerer(): Answerer {
  return {
    id: 'extractive',
    async answer({ question, passages, signal, onDelta }: AnswerInput): Promise<Answer> {
      signal.throwIfAborted();
      const pieces = passages.length === 0 ? [NO_PASSAGES_ANSWER] : composeAnswer(question, passages);
      for (const piece of pieces) onDelta(piece);
      return { content: pieces.join(''), model: null };
    },
    async close() {},
  };
}

interface Candidate {
  source: number; // 1-based passage number
  order: number; // sentence position in its passage
  overlap: number; // distinct question words it contains
  text: string;
}

/** The answer as the pieces onDelta emits: a heading, one piece per quote, the sources list. */
function composeAnswer(question: string, passages: readonly Passage[]): string[] {
  const questionWords = new Set(contentWords(question));
  const candidates: Candidate[] = passages.slice(0, TOP_PASSAGES).flatMap((passage, index) =>
    splitSentences(passage.text).map((text, order) => ({
      source: index + 1,
      order,
      overlap: new Set(contentWords(text).filter((word) => questionWords.has(word))).size,
      text,
    })),
  );
  const chosen: Candidate[] = [];
  const best = candidates.filter((c) => c.overlap > 0).sort((a, b) => b.overlap - a.overlap || a.source - b.source || a.order - b.order);
  for (const candidate of best) {
    if (chosen.length >= MAX_QUOTES) break;
    if (chosen.filter((c) => c.source === candidate.source).length < MAX_QUOTES_PER_PASSAGE) chosen.push(candidate);
  }
  // No shared word (retrieval matched on meaning, or the question is all stop words): quote the best passage's opening.
  if (chosen.length === 0 && candidates[0] !== undefined) chosen.push(candidates[0]);
  chosen.sort((a, b) => a.source - b.source || a.order - b.order);

  const quotes = chosen.map((c) => `“${clip(c.text)}” [${c.source}]\n`);
  const cited = [...new Set(chosen.map((c) => c.source))];
  const sources = cited.map((n) => {
    const passage = passages[n - 1];
    const title = passage?.title?.trim() ? passage.title.trim() : `Untitled document ${passage?.documentId ?? ''}`.trim();
    return `[${n}] ${title}`;
  });
  return ['From the most relevant passages:\n\n', ...quotes, `\nSources:\n${sources.join('\n')}`];
}

/** Sentences and lines, whitespace collapsed; a passage without punctuation is one sentence. */
function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?…])\s+|\n\s*\n|\n(?=\s*[-*•\d])/u)
    .map((sentence) => sentence.replace(/\s+/g, ' ').trim())
    .filter((sentence) => /[\p{L}\p{N}]/u.test(sentence));
}

function clip(sentence: string): string {
  if (sentence.length <= MAX_QUOTE_CHARS) return sentence;
  const cut = sentence.slice(0, MAX_QUOTE_CHARS);
  const lastSpace = cut.lastIndexOf(' ');
  return `${(lastSpace > MAX_QUOTE_CHARS / 2 ? cut.slice(0, lastSpace) : cut).trimEnd()}…`;
}
