/**
 * File uploads on POST /documents (multipart/form-data): one file part named `file` plus optional
 * text fields `id`, `title` and `metadata` (a JSON object, as a string). multer keeps the file in
 * memory up to UPLOAD_MAX_BYTES (413 above); the text is extracted (extract-text.ts), and the result
 * is the same raw body a JSON client would send, so it meets the same DocumentInput validation
 * (MAX_TEXT_CHARS, metadata limits, ids). `metadata.source` is set from the file:
 * `{fileName, contentType, bytes, pages?}` (a client's own `source` key is replaced); the title
 * defaults to the file name without its extension. Unknown fields are refused, as unknown keys are
 * in JSON bodies, and multer's and busboy's errors become the API's JSON errors.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Request, RequestHandler } from 'express';
import multer, { MulterError } from 'multer';
import { z } from 'zod';
import type { Config } from '../../../shared/src/config.js';
import { PayloadTooLargeError, ValidationError } from '../../../shared/src/errors.js';
import { isPlainObject } from '../../../shared/src/input.js';
import { parse } from '../../../shared/src/validation.js';
import { extractText, type ExtractLimits } from './extract-text.js';

export const UPLOAD_FILE_FIELD = 'file';
const MAX_FIELDS = 3; // id, title, metadata
const MAX_FILE_NAME_CHARS = 255;

export type UploadConfig = ExtractLimits & Pick<Config, 'UPLOAD_MAX_BYTES' | 'BODY_LIMIT_BYTES' | 'MAX_TITLE_CHARS'>;

/** The text fields of an upload form; strict, like JSON bodies. */
export const UploadFields = z.strictObject({
  id: z.string().optional(),
  title: z.string().optional(),
  metadata: z.string().optional(), // a JSON object
});

/** Middleware: reads a multipart body into req.file and req.body; any other request passes untouched. */
export function acceptUpload(config: UploadConfig): RequestHandler {
  const upload = multer({
    storage: multer.memoryStorage(),
    defParamCharset: 'utf8', // file names as browsers and curl send them
    limits: { fileSize: config.UPLOAD_MAX_BYTES, files: 1, fields: MAX_FIELDS, parts: MAX_FIELDS + 1, fieldSize: config.BODY_LIMIT_BYTES },
  }).single(UPLOAD_FILE_FIELD);
  return (req, res, next) => {
    if (!isMultipart(req)) {
      next();
      return;
    }
    upload(req, res, (err: unknown) => next(err === undefined ? undefined : uploadError(err, config)));
  };
}

export function isMultipart(req: Request): boolean {
  return typeof req.is('multipart/form-data') === 'string';
}

/** The body a JSON client would have sent for this upload, before DocumentInput validation. */
export async function uploadedDocumentBody(req: Request, config: UploadConfig): Promise<Record<string, unknown>> {
  const body = { ...(req.body as object | undefined) };
  if (UPLOAD_FILE_FIELD in body) {
    // A file part with an empty file name reaches us as a text field (a browser sends one when no file was chosen).
    const message = `the part "${UPLOAD_FILE_FIELD}" has no file name: choose a file, or send it with its name (curl -F ${UPLOAD_FILE_FIELD}=@path)`;
    throw new ValidationError(message, [{ path: UPLOAD_FILE_FIELD, rule: 'file_name', message }]);
  }
  const fields = parse(UploadFields, body, 'upload form');
  const file = req.file;
  if (!file) {
    const message = `a multipart upload needs one file, with its file name, in the field "${UPLOAD_FILE_FIELD}"`;
    throw new ValidationError(message, [{ path: UPLOAD_FILE_FIELD, rule: 'required', message }]);
  }
  const metadata = fields.metadata === undefined ? {} : parseMetadataField(fields.metadata);
  const fileName = path.basename(file.originalname.replaceAll('\\', '/')).slice(0, MAX_FILE_NAME_CHARS) || 'upload';
  const extracted = await extractText({ fileName, contentType: file.mimetype, data: file.buffer }, config);
  const source = { fileName, contentType: extracted.contentType, bytes: file.size, ...(extracted.pages !== undefined ? { pages: extracted.pages } : {}) };
  const title = fields.title ?? (path.parse(fileName).name.slice(0, config.MAX_TITLE_CHARS) || fileName.slice(0, config.MAX_TITLE_CHARS));
  return { ...(fields.id !== undefined ? { id: fields.id } : {}), title, text: extracted.text, metadata: { ...metadata, source } };
}

/** SHA-256 (hex) of the uploaded file's bytes, as they arrived: what a folder sync compares its files with. */
export function uploadedFileHash(req: Request): string | undefined {
  return req.file === undefined ? undefined : createHash('sha256').update(req.file.buffer).digest('hex');
}

function parseMetadataField(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  if (!isPlainObject(value)) {
    const message = 'the metadata field must be a JSON object, e.g. {"lang":"en"}';
    throw new ValidationError(`invalid upload form: ${message}`, [{ path: 'metadata', rule: 'json', message }]);
  }
  return value;
}

/** multer and busboy errors as the API's errors: limits are 413, a malformed form is 400. */
function uploadError(err: unknown, config: UploadConfig): Error {
  if (err instanceof MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') {
      const message = `the file is larger than ${config.UPLOAD_MAX_BYTES} bytes (UPLOAD_MAX_BYTES)`;
      return new PayloadTooLargeError(message, [{ path: UPLOAD_FILE_FIELD, rule: 'max_bytes', message }]);
    }
    if (err.code === 'LIMIT_FIELD_VALUE') {
      const message = `the form field ${JSON.stringify(err.field ?? '')} is larger than ${config.BODY_LIMIT_BYTES} bytes (BODY_LIMIT_BYTES)`;
      return new PayloadTooLargeError(message, [{ path: err.field ?? '', rule: 'max_bytes', message }]);
    }
    const message =
      err.code === 'LIMIT_UNEXPECTED_FILE' || err.code === 'LIMIT_FILE_COUNT'
        ? `send exactly one file, in the field "${UPLOAD_FILE_FIELD}" (got one in ${JSON.stringify(err.field ?? '')})`
        : `${err.message}: the form takes one file "${UPLOAD_FILE_FIELD}" and the fields id, title, metadata`;
    return new ValidationError(`invalid upload form: ${message}`, [{ path: err.field ?? '', rule: err.code.toLowerCase(), message }], { cause: err });
  }
  const message = `the multipart body could not be read (${err instanceof Error ? err.message : 'malformed'})`;
  return new ValidationError(`invalid upload form: ${message}`, [{ path: '', rule: 'multipart', message }], { cause: err });
}
