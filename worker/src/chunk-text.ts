/**
 * Splits a document into the chunks that are embedded and searched. A chunk is at most `size` UTF-16 code units (string
 * length) and shares about `overlap` of them with its neighbour, so a passage cut by a boundary is still found whole in
 * one of the two. Cuts prefer, in order: a paragraph break, a sentence end (both only in the window's second half, to
 * avoid tiny chunks), any whitespace; a word is cut only when it alone is longer than `size`, and a surrogate pair never.
 * Each window is scanned once, so the cost is linear in the length of the output.
 */

export interface ChunkOptions {
  /** Maximum chunk length in UTF-16 code units; an integer of at least 2, so a surrogate pair always fits. */
  readonly size: number;
  /** Code units shared by neighbouring chunks, at most; an integer from 0 to size - 1. */
  readonly overlap: number;
}

/** Where a chunk lies in the text: `text.slice(start, end)` is the chunk, already trimmed. */
export interface TextSpan {
  readonly start: number;
  readonly end: number;
}

/** The chunks in order, trimmed, none empty; whitespace-only text gives none, text within `size` gives one. */
export function chunkText(text: string, options: ChunkOptions): string[] {
  return chunkSpans(text, options).map((span) => text.slice(span.start, span.end));
}

/** The same chunks as spans of the text, for callers that need offsets (and for tests that check coverage). */
export function chunkSpans(text: string, options: ChunkOptions): TextSpan[] {
  checkOptions(options);
  const { size, overlap } = options;
  const textEnd = trimEnd(text, text.length, 0);
  const spans: TextSpan[] = [];
  let start = skipSpace(text, 0, textEnd);
  let previousCut = start; // every cut lies after the previous one, so chunks always move forward
  let resumeAt = start; // the first character not yet in any chunk
  while (start < textEnd) {
    if (textEnd - start <= size) {
      spans.push({ start, end: textEnd });
      break;
    }
    let cut = findBreak(text, start, size, previousCut);
    if (cut === undefined) {
      // The overlap pulled the window back so far that the next word does not fit: drop the overlap here instead.
      if (start < resumeAt) {
        start = resumeAt;
        continue;
      }
      cut = hardCut(text, start + size);
    }
    spans.push({ start, end: trimEnd(text, cut, start) });
    resumeAt = skipSpace(text, cut, textEnd);
    start = nextStart(text, start, cut, overlap, resumeAt);
    previousCut = cut;
  }
  return spans;
}

function checkOptions({ size, overlap }: ChunkOptions): void {
  if (!Number.isInteger(size) || size < 2) throw new RangeError(`chunk size must be an integer >= 2, got ${size}`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= size) {
    throw new RangeError(`chunk overlap must be an integer from 0 to ${size - 1}, got ${overlap}`);
  }
}

/**
 * The best cut in (start, start + size] after `previousCut`, scanning backwards once. A cut is the index of the first
 * whitespace of a run, so the chunk before it ends on a non-space. Undefined when the window holds no such run.
 */
function findBreak(text: string, start: number, size: number, previousCut: number): number | undefined {
  const lowest = Math.max(start, previousCut) + 1;
  const secondHalf = Math.max(lowest, start + Math.ceil(size / 2));
  let sentence: number | undefined;
  let space: number | undefined;
  let newlines = 0; // newlines in the whitespace run that starts at i, as far as the window reaches
  for (let i = start + size; i >= lowest; i--) {
    const code = text.charCodeAt(i);
    if (!isSpace(code)) {
      newlines = 0;
      continue;
    }
    if (code === 0x0a) newlines++;
    if (isSpace(text.charCodeAt(i - 1))) continue;
    if (i >= secondHalf) {
      if (newlines >= 2) return i;
      sentence ??= endsSentence(text, i, start) ? i : undefined;
    } else if (space !== undefined) {
      break; // below the second half only the last whitespace counts, and it is found
    }
    space ??= i;
  }
  return sentence ?? space;
}

/** A word longer than the window: cut at its end, one code unit earlier if that would split a surrogate pair. */
function hardCut(text: string, limit: number): number {
  const isPairSplit = isHighSurrogate(text.charCodeAt(limit - 1)) && isLowSurrogate(text.charCodeAt(limit));
  return isPairSplit ? limit - 1 : limit;
}

/** Starts about `overlap` before the cut, moved forward to the start of a word; never past the text not yet covered. */
function nextStart(text: string, start: number, cut: number, overlap: number, resumeAt: number): number {
  let next = Math.max(cut - overlap, start + 1);
  while (next < cut && !isSpace(text.charCodeAt(next - 1)) && !isSpace(text.charCodeAt(next))) next++;
  return next >= cut ? resumeAt : skipSpace(text, next, cut);
}

const SENTENCE_ENDS = new Set(['.', '!', '?', '…']);
const CLOSERS = new Set(['"', "'", ')', ']', '}', '”', '’', '»']);

/** True when the whitespace at i follows ".", "!", "?" or "…", possibly closed by a quote or a bracket. */
function endsSentence(text: string, i: number, start: number): boolean {
  const before = text.charAt(i - 1);
  if (SENTENCE_ENDS.has(before)) return true;
  return CLOSERS.has(before) && i - 2 >= start && SENTENCE_ENDS.has(text.charAt(i - 2));
}

function skipSpace(text: string, from: number, to: number): number {
  let i = from;
  while (i < to && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function trimEnd(text: string, end: number, start: number): number {
  let i = end;
  while (i > start && isSpace(text.charCodeAt(i - 1))) i--;
  return i;
}

/** Exactly the characters String.prototype.trim removes (and /\s/ matches), so skipping them is trimming. */
function isSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
