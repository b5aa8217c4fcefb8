/**
 * Text extraction of uploads: kinds by extension, media type and content (PDF magic), UTF-8 and
 * UTF-16 text, binary refused, HTML reduced to its visible text, PDFs read through pdf-parse in a
 * worker thread with their page count, and every refusal naming the file and why (415, 413,
 * 400 unreadable_file): encrypted, damaged, too many pages, too slow, no text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UPLOAD_FILE_TYPES } from '../../shared/src/config.js';
import { AppError } from '../../shared/src/errors.js';
import { corruptPdf, pdfWithText } from '../../test/support/pdf-files.js';
import { detectFileType, extractText, type ExtractLimits, type UploadedFile } from '../src/http/extract-text.js';

const LIMITS: ExtractLimits = { UPLOAD_TYPES: [...UPLOAD_FILE_TYPES], UPLOAD_PDF_MAX_PAGES: 5, UPLOAD_EXTRACT_TIMEOUT_MS: 15_000, MAX_TEXT_CHARS: 1_000 };

const file = (fileName: string, data: Buffer | string, contentType = 'application/octet-stream'): UploadedFile => ({
  fileName,
  contentType,
  data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
});

/** Asserts the promise rejects with an AppError of this status whose message names the file and matches `why`. */
async function refused(promise: Promise<unknown>, status: number, rule: string, why: RegExp, fileName: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.match(err.message, why);
    assert.ok(err.message.includes(fileName), `the message names the file: ${err.message}`);
    assert.deepEqual(
      (err.details as Array<{ rule: string }>).map((d) => d.rule),
      [rule],
    );
    return true;
  });
}

describe('extractText', () => {
  it('reads the text of every page of a PDF and counts its pages', async () => {
    const result = await extractText(file('hive.pdf', pdfWithText(['Bees (Apis) make honey.', 'Page two: drones.']), 'application/pdf'), LIMITS);
    assert.equal(result.type, 'pdf');
    assert.equal(result.contentType, 'application/pdf');
    assert.equal(result.pages, 2);
    assert.match(result.text, /Bees \(Apis\) make honey\./);
    assert.match(result.text, /Page two: drones\./);
  });

  it('refuses an encrypted PDF with 400 unreadable_file saying it is password-protected', async () => {
    await refused(extractText(file('locked.pdf', pdfWithText(['secret'], { isEncrypted: true })), LIMITS), 400, 'unreadable_file', /encrypted/, 'locked.pdf');
  });

  it('refuses a damaged PDF with 400 unreadable_file saying it is damaged', async () => {
    await refused(extractText(file('broken.pdf', corruptPdf()), LIMITS), 400, 'unreadable_file', /damaged/, 'broken.pdf');
  });

  it('refuses a PDF with more pages than UPLOAD_PDF_MAX_PAGES with 413', async () => {
    const pages = Array.from({ length: 6 }, (_, i) => `page ${i + 1}`);
    await refused(extractText(file('long.pdf', pdfWithText(pages)), LIMITS), 413, 'max_pages', /6 pages.*UPLOAD_PDF_MAX_PAGES/, 'long.pdf');
  });

  it('stops reading a PDF once its text passes MAX_TEXT_CHARS, naming the page', async () => {
    const pages = Array.from({ length: 5 }, (_, i) => `page ${i + 1}\n${Array.from({ length: 6 }, () => 'honey '.repeat(10)).join('\n')}`); // ~370 characters each
    await refused(
      extractText(file('thick.pdf', pdfWithText(pages)), LIMITS),
      400,
      'too_big',
      /passes 1000 characters on page 3 of 5 \(MAX_TEXT_CHARS\)/,
      'thick.pdf',
    );
  });

  it('gives up after UPLOAD_EXTRACT_TIMEOUT_MS and says so', async () => {
    const limits = { ...LIMITS, UPLOAD_EXTRACT_TIMEOUT_MS: 1 }; // the thread cannot even start in 1 ms
    await refused(extractText(file('slow.pdf', pdfWithText(['x'])), limits), 400, 'unreadable_file', /UPLOAD_EXTRACT_TIMEOUT_MS/, 'slow.pdf');
  });

  it('refuses a PDF whose pages hold no text', async () => {
    await refused(extractText(file('scan.pdf', pdfWithText([''])), LIMITS), 400, 'unreadable_file', /no text could be extracted/, 'scan.pdf');
  });

  it('keeps only the visible text of HTML: no scripts, styles, images or link targets', async () => {
    const html =
      '<html><head><title>T</title><style>p{color:red}</style><script>alert(1)</script></head><body><h1>The Queen</h1><p>She lays <a href="https://x.example/">eggs</a>.<img src="a.png" alt="img"></p></body></html>';
    const result = await extractText(file('queen.html', html), LIMITS);
    assert.equal(result.type, 'html');
    assert.equal(result.text, 'The Queen\n\nShe lays eggs.');
  });

  it('decodes UTF-8 text without its BOM, and UTF-16 text with a BOM', async () => {
    const utf8 = await extractText(file('a.md', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('# Favos\n\nmel é doce', 'utf8')])), LIMITS);
    assert.deepEqual({ type: utf8.type, text: utf8.text }, { type: 'md', text: '# Favos\n\nmel é doce' });
    const utf16 = await extractText(file('b.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('colmeia ✓', 'utf16le')])), LIMITS);
    assert.equal(utf16.text, 'colmeia ✓');
  });

  it('refuses binary data in a text file: NUL bytes or bytes that are not UTF-8', async () => {
    await refused(
      extractText(file('image.txt', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01])), LIMITS),
      400,
      'unreadable_file',
      /not UTF-8 text/,
      'image.txt',
    );
    await refused(extractText(file('nul.txt', 'abc\u0000def'), LIMITS), 400, 'unreadable_file', /NUL bytes/, 'nul.txt');
  });

  it('refuses a text file that holds only whitespace', async () => {
    await refused(extractText(file('blank.md', ' \n\t '), LIMITS), 400, 'unreadable_file', /holds no text/, 'blank.md');
  });

  it('answers 415 for an unknown kind and for a kind UPLOAD_TYPES leaves out', async () => {
    await refused(extractText(file('report.docx', 'PK\u0003\u0004'), LIMITS), 415, 'file_type', /unsupported file type/, 'report.docx');
    await refused(
      extractText(file('a.pdf', pdfWithText(['x'])), { ...LIMITS, UPLOAD_TYPES: ['txt', 'md'] }),
      415,
      'file_type',
      /UPLOAD_TYPES: txt, md/,
      'a.pdf',
    );
  });
});

describe('detectFileType', () => {
  it('goes by the extension, then the media type, and the PDF magic wins over both', () => {
    assert.equal(detectFileType(file('NOTES.MARKDOWN', 'x')), 'md');
    assert.equal(detectFileType(file('page.htm', 'x')), 'html');
    assert.equal(detectFileType(file('blob', 'x', 'text/markdown; charset=utf-8')), 'md');
    assert.equal(detectFileType(file('blob', 'x', 'text/plain')), 'txt');
    assert.equal(detectFileType(file('really-a-pdf.txt', pdfWithText(['x']))), 'pdf');
  });

  it('refuses a .pdf that does not start with %PDF-', () => {
    assert.throws(() => detectFileType(file('fake.pdf', 'hello')), /fake\.pdf.*not a PDF/);
  });
});
