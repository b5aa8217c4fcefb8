/**
 * Entry of the worker thread extract-text.ts starts for one HTML or PDF upload: it converts the
 * bytes it was given and posts one ExtractReply. It runs in its own thread so pdf.js and
 * html-to-text, which work synchronously for long stretches, never stall the web process; the
 * parent enforces the time and memory caps by terminating the thread. Known failures (encrypted,
 * damaged, too many pages) are replies, not crashes, so the client learns why.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { convert } from 'html-to-text';
import { InvalidPDFException, FormatError, PasswordException, PDFParse, VerbosityLevel } from 'pdf-parse';
import { z } from 'zod';
import type { ExtractReply, ExtractRequest } from './extract-text.js';

const ExtractRequestData = z.object({
  type: z.enum(['html', 'pdf']),
  data: z.instanceof(Uint8Array),
  maxPages: z.number().int().positive(),
  maxChars: z.number().int().positive(),
});

parentPort?.postMessage(await extract(ExtractRequestData.parse(workerData)));

/** Page by page, so a PDF whose text is already too long stops there (measured: no slower than one call). */
async function extract({ type, data, maxPages, maxChars }: ExtractRequest): Promise<ExtractReply> {
  if (type === 'html') return { ok: true, text: htmlToText(new TextDecoder('utf-8').decode(data)) };
  const parser = new PDFParse({ data, verbosity: VerbosityLevel.ERRORS, isEvalSupported: false });
  try {
    const { total } = await parser.getInfo();
    if (total > maxPages) return { ok: false, reason: 'too_many_pages', message: `the PDF has ${total} pages` };
    let text = '';
    for (let page = 1; page <= total; page++) {
      text += (await parser.getText({ partial: [page], pageJoiner: '' })).text;
      if (text.length > maxChars) return { ok: false, reason: 'too_long', message: `its text passes ${maxChars} characters on page ${page} of ${total}` };
    }
    return { ok: true, text, pages: total };
  } catch (err) {
    if (err instanceof PasswordException) return { ok: false, reason: 'encrypted', message: err.message };
    if (err instanceof InvalidPDFException || err instanceof FormatError) return { ok: false, reason: 'damaged', message: err.message };
    return { ok: false, reason: 'failed', message: `the PDF could not be read (${err instanceof Error ? err.message : String(err)})` };
  } finally {
    await parser.destroy();
  }
}

/** Visible text only: no scripts, styles, images or link targets; headings keep their case. */
function htmlToText(html: string): string {
  const keepCase = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } }));
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'script', format: 'skip' },
      { selector: 'style', format: 'skip' },
      { selector: 'noscript', format: 'skip' },
      { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
      ...keepCase,
    ],
  });
}
