/**
 * The text of an uploaded file (POST /documents, multipart). The kind comes from the file name's
 * extension, else the part's Content-Type, and the content has the last word: bytes that start
 * with `%PDF-` are a PDF whatever the name says, and a `.pdf` without them is refused. Plain text
 * and Markdown must be UTF-8 (a BOM is dropped; UTF-16 with a BOM is decoded) and hold no NUL,
 * which is how binary data shows. HTML and PDF go through maintained libraries (html-to-text,
 * pdf-parse) in a worker thread, so a large or hostile file never blocks the web process's event
 * loop: the thread has UPLOAD_EXTRACT_TIMEOUT_MS and EXTRACT_MEMORY_MB, a PDF at most
 * UPLOAD_PDF_MAX_PAGES pages, and a PDF's extraction stops as soon as its text passes
 * MAX_TEXT_CHARS (400 on `text`, as for JSON). Every refusal names the file and why: 415 for a kind that is not
 * accepted, 413 for a PDF with too many pages, 400 `unreadable_file` (ValidationError rule) for a
 * file that cannot be read (encrypted or damaged PDF, binary data, no text at all, too slow).
 */
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { z } from 'zod';
import type { Config, UploadFileType } from '../../../shared/src/config.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../../../shared/src/errors.js';

/** Old-generation heap of one extraction thread: pdf.js holds the parsed document there. */
export const EXTRACT_MEMORY_MB = 256;

export type ExtractLimits = Pick<Config, 'UPLOAD_TYPES' | 'UPLOAD_PDF_MAX_PAGES' | 'UPLOAD_EXTRACT_TIMEOUT_MS' | 'MAX_TEXT_CHARS'>;

export interface UploadedFile {
  fileName: string; // as the client named it (no directories)
  contentType: string; // the part's Content-Type as sent
  data: Buffer;
}

export interface ExtractedText {
  type: UploadFileType;
  contentType: string; // the canonical media type of `type`
  text: string;
  pages?: number; // PDFs: pages in the file
}

export const CONTENT_TYPES: Readonly<Record<UploadFileType, string>> = {
  txt: 'text/plain',
  md: 'text/markdown',
  html: 'text/html',
  pdf: 'application/pdf',
};

const EXTENSIONS: Readonly<Record<string, UploadFileType>> = {
  '.txt': 'txt',
  '.text': 'txt',
  '.md': 'md',
  '.markdown': 'md',
  '.html': 'html',
  '.htm': 'html',
  '.pdf': 'pdf',
};
const MEDIA_TYPES: Readonly<Record<string, UploadFileType>> = {
  'text/plain': 'txt',
  'text/markdown': 'md',
  'text/x-markdown': 'md',
  'text/html': 'html',
  'application/pdf': 'pdf',
};
const PDF_MAGIC = Buffer.from('%PDF-', 'latin1');
const PDF_MAGIC_WITHIN_BYTES = 1024; // readers accept the header anywhere in the first KiB

/** The file's text, or an AppError naming the file and the reason. */
export async function extractText(file: UploadedFile, limits: ExtractLimits): Promise<ExtractedText> {
  const type = detectFileType(file);
  if (!limits.UPLOAD_TYPES.includes(type)) {
    throw unsupported(file, `${type} files are not accepted here (UPLOAD_TYPES: ${limits.UPLOAD_TYPES.join(', ')})`);
  }
  const extracted = type === 'txt' || type === 'md' ? { text: decodeText(file) } : await extractInThread(file, type, limits);
  if (extracted.text.trim() === '') {
    throw unreadable(file, type === 'pdf' ? 'no text could be extracted (a scanned PDF holds only images of text)' : 'it holds no text');
  }
  return { type, contentType: CONTENT_TYPES[type], ...extracted };
}

/** txt, md, html or pdf, from the content (PDF magic), the extension, then the part's media type. */
export function detectFileType(file: UploadedFile): UploadFileType {
  const isPdf = file.data.subarray(0, PDF_MAGIC_WITHIN_BYTES).includes(PDF_MAGIC);
  const byName = EXTENSIONS[path.extname(file.fileName).toLowerCase()];
  const byMediaType = MEDIA_TYPES[file.contentType.split(';')[0]?.trim().toLowerCase() ?? ''];
  const declared = byName ?? byMediaType;
  if (isPdf) return 'pdf';
  if (declared === 'pdf') throw unreadable(file, 'it is not a PDF: it does not start with %PDF-');
  if (declared === undefined) {
    throw unsupported(
      file,
      `unsupported file type (name ${JSON.stringify(file.fileName)}, Content-Type ${JSON.stringify(file.contentType)}); send .txt, .md, .html or .pdf`,
    );
  }
  return declared;
}

/** UTF-8 (or UTF-16 with a BOM) text without NUL; anything else is binary data. */
export function decodeText(file: UploadedFile): string {
  const { data } = file;
  const encoding = data[0] === 0xff && data[1] === 0xfe ? 'utf-16le' : data[0] === 0xfe && data[1] === 0xff ? 'utf-16be' : 'utf-8';
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true, ignoreBOM: false }).decode(data);
  } catch (err) {
    throw unreadable(file, `it is not ${encoding === 'utf-8' ? 'UTF-8' : encoding.toUpperCase()} text (binary data, or another encoding)`, err);
  }
  if (text.includes('\u0000')) throw unreadable(file, 'it contains NUL bytes: binary data, not text');
  return text;
}

/** What the extraction thread posts back (extract-text-worker.ts); checked, since it crosses a thread. */
export const ExtractReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), text: z.string(), pages: z.number().int().nonnegative().optional() }),
  z.object({ ok: z.literal(false), reason: z.enum(['encrypted', 'damaged', 'too_many_pages', 'too_long', 'failed']), message: z.string() }),
]);
export type ExtractReply = z.infer<typeof ExtractReply>;

export interface ExtractRequest {
  type: 'html' | 'pdf';
  data: Uint8Array;
  maxPages: number;
  maxChars: number; // a PDF's extraction stops once its text is longer: the document would be refused
}

/** Runs extract-text-worker.js on a copy of the bytes; the thread is terminated at the deadline. */
function extractInThread(file: UploadedFile, type: 'html' | 'pdf', limits: ExtractLimits): Promise<{ text: string; pages?: number }> {
  const data = new Uint8Array(file.data); // a copy we can transfer: multer's buffer may share a pool
  const request: ExtractRequest = { type, data, maxPages: limits.UPLOAD_PDF_MAX_PAGES, maxChars: limits.MAX_TEXT_CHARS };
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./extract-text-worker.js', import.meta.url), {
      workerData: request,
      transferList: [data.buffer],
      resourceLimits: { maxOldGenerationSizeMb: EXTRACT_MEMORY_MB },
      stdout: true, // the libraries' console output stays out of our logs
      stderr: true,
    });
    let isSettled = false;
    const settle = (outcome: () => void) => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(() => {
      settle(() => reject(unreadable(file, `text extraction took longer than ${limits.UPLOAD_EXTRACT_TIMEOUT_MS} ms (UPLOAD_EXTRACT_TIMEOUT_MS)`)));
    }, limits.UPLOAD_EXTRACT_TIMEOUT_MS);
    worker.once('message', (message: unknown) =>
      settle(() => {
        const reply = ExtractReply.safeParse(message);
        if (!reply.success) reject(new Error('the extraction thread sent a malformed reply', { cause: reply.error }));
        else if (reply.data.ok) resolve({ text: reply.data.text, ...(reply.data.pages !== undefined ? { pages: reply.data.pages } : {}) });
        else reject(refusal(file, reply.data, limits));
      }),
    );
    worker.once('error', (err: Error & { code?: string }) =>
      settle(() => {
        const why = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `extracting its text needs more than ${EXTRACT_MEMORY_MB} MB` : 'its text could not be extracted';
        reject(unreadable(file, why, err));
      }),
    );
    worker.once('exit', (code) => settle(() => reject(new Error(`the extraction thread exited (code ${code}) without a reply`))));
  });
}

function refusal(file: UploadedFile, reply: Extract<ExtractReply, { ok: false }>, limits: ExtractLimits): Error {
  if (reply.reason === 'too_many_pages') {
    const message = `${describe(file)}: ${reply.message}; at most ${limits.UPLOAD_PDF_MAX_PAGES} pages (UPLOAD_PDF_MAX_PAGES)`;
    return new PayloadTooLargeError(message, [{ path: 'file', rule: 'max_pages', message }]);
  }
  if (reply.reason === 'too_long') {
    const message = `${describe(file)}: ${reply.message} (MAX_TEXT_CHARS)`;
    return new ValidationError(message, [{ path: 'text', rule: 'too_big', message }]);
  }
  const why =
    reply.reason === 'encrypted'
      ? 'the PDF is encrypted (password-protected)'
      : reply.reason === 'damaged'
        ? `the file is damaged: ${reply.message}`
        : reply.message;
  return unreadable(file, why);
}

function unreadable(file: UploadedFile, why: string, cause?: unknown): ValidationError {
  const message = `${describe(file)} cannot be read: ${why}`;
  return new ValidationError(message, [{ path: 'file', rule: 'unreadable_file', message }], cause === undefined ? undefined : { cause });
}

function unsupported(file: UploadedFile, why: string): UnsupportedMediaTypeError {
  const message = `${describe(file)}: ${why}`;
  return new UnsupportedMediaTypeError(message, [{ path: 'file', rule: 'file_type', message }]);
}

function describe(file: UploadedFile): string {
  return `file ${JSON.stringify(file.fileName.slice(0, 200))}`;
}
