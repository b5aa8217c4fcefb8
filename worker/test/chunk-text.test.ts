import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { chunkSpans, chunkText, type TextSpan } from '../src/chunk-text.js';

const WORDS = ['hive', 'bee', 'honey', 'wax', 'nectar', 'pollen', 'queen', 'drone', 'worker', 'colony', 'flower', 'é'];

/** Prose with sentences and paragraphs, built deterministically from an index so tests need no randomness. */
function prose(sentences: number): string {
  const parts: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const words = Array.from({ length: 5 + (s % 9) }, (_, w) => WORDS[(s * 7 + w * 3) % WORDS.length]);
    parts.push(`${words.join(' ')}.`);
    parts.push(s % 6 === 5 ? '\n\n' : ' ');
  }
  return parts.join('');
}

function isSpace(char: string): boolean {
  return /\s/.test(char);
}

/** Every non-space character of the text lies inside some span. */
function assertCovered(text: string, spans: readonly TextSpan[]): void {
  const covered = new Uint8Array(text.length);
  for (const { start, end } of spans) covered.fill(1, start, end);
  for (let i = 0; i < text.length; i++) {
    if (!isSpace(text.charAt(i))) assert.equal(covered[i], 1, `character ${i} (${JSON.stringify(text.charAt(i))}) lost`);
  }
}

function isHigh(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function splitsPair(text: string, at: number): boolean {
  return at > 0 && isHigh(text.charCodeAt(at - 1)) && isLow(text.charCodeAt(at));
}

describe('chunkText', () => {
  it('gives no chunk for empty or whitespace-only text', () => {
    assert.deepEqual(chunkText('', { size: 100, overlap: 10 }), []);
    assert.deepEqual(chunkText(' \n\t\u00a0\u3000 ', { size: 100, overlap: 10 }), []);
  });

  it('gives one trimmed chunk for text within the size', () => {
    assert.deepEqual(chunkText('  A short text.\n', { size: 100, overlap: 10 }), ['A short text.']);
    assert.deepEqual(chunkText('x'.repeat(100), { size: 100, overlap: 10 }), ['x'.repeat(100)]);
    assert.deepEqual(chunkText(`   ${'x'.repeat(100)}   `, { size: 100, overlap: 10 }), ['x'.repeat(100)]);
  });

  it('keeps every chunk within the size, trimmed and non-empty', () => {
    const text = prose(400);
    for (const [size, overlap] of [
      [50, 0],
      [200, 40],
      [1000, 150],
      [64, 63],
    ] as const) {
      const chunks = chunkText(text, { size, overlap });
      assert.ok(chunks.length > 1);
      for (const chunk of chunks) {
        assert.ok(chunk.length > 0 && chunk.length <= size, `chunk of ${chunk.length} for size ${size}`);
        assert.equal(chunk, chunk.trim());
      }
    }
  });

  it('is deterministic', () => {
    const text = prose(200);
    assert.deepEqual(chunkText(text, { size: 300, overlap: 50 }), chunkText(text, { size: 300, overlap: 50 }));
  });

  it('loses no word of the input', () => {
    const text = prose(300);
    const chunks = chunkText(text, { size: 120, overlap: 30 });
    const seen = new Set(chunks.flatMap((chunk) => chunk.split(/\s+/)));
    for (const word of text.split(/\s+/).filter((word) => word.length > 0)) assert.ok(seen.has(word), word);
  });

  it('never cuts a word that fits in a chunk', () => {
    const text = prose(300);
    const words = new Set(text.split(/\s+/));
    for (const chunk of chunkText(text, { size: 80, overlap: 25 })) {
      for (const word of chunk.split(/\s+/)) assert.ok(words.has(word), `"${word}" is a piece of a word`);
    }
  });

  it('shares about the overlap with the neighbouring chunk, never more', () => {
    const text = prose(300);
    const spans = chunkSpans(text, { size: 200, overlap: 50 });
    for (let i = 1; i < spans.length; i++) {
      const previous = spans[i - 1]!;
      const current = spans[i]!;
      const shared = previous.end - current.start;
      assert.ok(shared <= 50, `shared ${shared}`);
      assert.ok(shared >= 50 - 'pollen. '.length, `shared ${shared}`);
      assert.ok(current.start > previous.start && current.end > previous.end);
    }
  });

  it('shares nothing when the overlap is zero', () => {
    const spans = chunkSpans(prose(300), { size: 150, overlap: 0 });
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]!.start >= spans[i - 1]!.end);
  });

  it('prefers a paragraph break to a sentence end, and a sentence end to a space', () => {
    const paragraph = `${'word '.repeat(11)}end.`; // 59 characters
    const sentences = `${'word '.repeat(13)}end. ${'word '.repeat(3)}`; // a sentence end at 69
    const [first] = chunkText(`${paragraph}\n\n${sentences}${'more '.repeat(40)}`, { size: 100, overlap: 0 });
    assert.equal(first, paragraph);
    const [second] = chunkText(`${sentences}${'more '.repeat(40)}`, { size: 100, overlap: 0 });
    assert.equal(second, `${'word '.repeat(13)}end.`);
    const [third] = chunkText('word '.repeat(40), { size: 100, overlap: 0 });
    assert.equal(third, 'word '.repeat(20).trim());
  });

  it('ignores a paragraph break early in the window rather than make a tiny chunk', () => {
    const text = `Title\n\n${'word '.repeat(60)}`;
    const [first] = chunkText(text, { size: 100, overlap: 0 });
    assert.ok(first !== undefined && first.length > 90 && first.startsWith('Title\n\nword'));
  });

  it('cuts a word only when it alone is longer than the size', () => {
    const long = 'x'.repeat(250);
    const chunks = chunkText(`start ${long} end`, { size: 100, overlap: 20 });
    assert.deepEqual(chunks, ['start', 'x'.repeat(100), 'x'.repeat(100), `${'x'.repeat(50)} end`]);
  });

  it('keeps surrogate pairs whole', () => {
    const text = '😀'.repeat(100) + ' ' + '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 '.repeat(30);
    for (const size of [2, 3, 7, 51]) {
      const chunks = chunkText(text, { size, overlap: size - 1 });
      for (const chunk of chunks) {
        assert.ok(chunk.length <= size);
        assert.ok(!isLow(chunk.charCodeAt(0)) && !isHigh(chunk.charCodeAt(chunk.length - 1)), JSON.stringify(chunk));
      }
    }
  });

  it('counts size in UTF-16 code units', () => {
    assert.deepEqual(chunkText('😀😀😀', { size: 4, overlap: 0 }), ['😀😀', '😀']);
  });

  it('refuses a size below 2 and an overlap outside 0 to size - 1', () => {
    for (const options of [
      { size: 1, overlap: 0 },
      { size: 10.5, overlap: 0 },
      { size: 10, overlap: 10 },
      { size: 10, overlap: -1 },
      { size: 10, overlap: 1.5 },
    ]) {
      assert.throws(() => chunkText('text', options), RangeError);
    }
  });

  it('chunks a 500,000-character text without losing any of it', () => {
    const text = prose(12_000).slice(0, 500_000);
    assert.equal(text.length, 500_000);
    const spans = chunkSpans(text, { size: 1000, overlap: 150 });
    assertCovered(text, spans);
    assert.ok(spans.length < (500_000 / (1000 - 150)) * 1.5);
  });

  it('keeps every chunk within the size and covers every non-space character, for any text', () => {
    const unit = fc.oneof(
      fc.constantFrom(' ', '\n', '\n\n', '\t', '.', '. ', '!', '"', '\u00a0', '😀', 'é', 'e\u0301', 'x'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }),
    );
    const options = fc.integer({ min: 2, max: 60 }).chain((size) => fc.record({ size: fc.constant(size), overlap: fc.integer({ min: 0, max: size - 1 }) }));
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 80 }), options, (parts, { size, overlap }) => {
        const text = parts.join('');
        const spans = chunkSpans(text, { size, overlap });
        assert.deepEqual(
          chunkText(text, { size, overlap }),
          spans.map(({ start, end }) => text.slice(start, end)),
        );
        for (const { start, end } of spans) {
          const chunk = text.slice(start, end);
          assert.ok(chunk.length > 0 && chunk.length <= size && chunk === chunk.trim());
          assert.ok(!splitsPair(text, start) && !splitsPair(text, end));
        }
        assertCovered(text, spans);
      }),
      { numRuns: 2000 },
    );
  });
});
