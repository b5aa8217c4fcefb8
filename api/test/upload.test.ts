/**
 * File uploads over HTTP on a small app with the API's body middleware, the upload middleware and
 * error handler: a multipart form becomes the same body a JSON client sends (text, title, id,
 * metadata + source) and meets the same DocumentInput validation; limits answer 413, forms the
 * route does not take answer 400, and other routes still refuse multipart with 415.
 */
import assert from 'node:assert/strict';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { loadConfig } from '../../shared/src/config.js';
import { createLogger } from '../../shared/src/logger.js';
import { createRequestSchemas } from '../src/http/request-schemas.js';
import { parse } from '../../shared/src/validation.js';
import { pdfWithText } from '../../test/support/pdf-files.js';
import { errorHandler } from '../src/http/errors.js';
import { jsonBody } from '../src/http/json-body.js';
import { acceptUpload, isMultipart, uploadedDocumentBody } from '../src/http/upload.js';

const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', UPLOAD_MAX_BYTES: '4096', BODY_LIMIT_BYTES: '2048', MAX_TEXT_CHARS: '1000' });
const { DocumentInput } = createRequestSchemas(config);
let server: Server;
let base: string;

before(async () => {
  const app = express();
  app.use(jsonBody(config));
  // What POST /documents does with its body, minus the database: the validated document comes back.
  app.post('/documents', acceptUpload(config), async (req, res) => {
    const body: unknown = isMultipart(req) ? await uploadedDocumentBody(req, config) : req.body;
    res.json(parse(DocumentInput, body, 'document'));
  });
  app.post('/search', (_req, res) => void res.json({ ok: true }));
  app.use(errorHandler(createLogger(config, 'test')));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

function form(files: Array<[string, Buffer | string, string?]>, fields: Record<string, string> = {}): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  for (const [fileName, content, type] of files) data.append('file', new Blob([content], { type: type ?? 'application/octet-stream' }), fileName);
  return data;
}

async function post(path: string, body: FormData | string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, { method: 'POST', body, headers });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown> & { error?: { code: string; message: string; details?: Array<{ path: string; rule: string }> } },
  };
}

/** Sends only the headers of a multipart POST declaring `bytes`, and reads the answer. */
function declareLargeUpload(bytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/documents`,
      { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(bytes) } },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (chunk: string) => (body += chunk))
          .on('end', () => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, body });
          });
      },
    );
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('POST /documents with a file', () => {
  it('turns the form into the JSON body: text, id, title, metadata plus source', async () => {
    const reply = await post(
      '/documents',
      form([['notes.md', '# Bees\n\nThey dance.', 'text/markdown']], { id: 'notes', title: 'Bee notes', metadata: '{"lang":"en","source":"spoofed"}' }),
    );
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.deepEqual(reply.body, {
      id: 'notes',
      title: 'Bee notes',
      text: '# Bees\n\nThey dance.',
      metadata: { lang: 'en', source: { fileName: 'notes.md', contentType: 'text/markdown', bytes: 19 } },
    });
  });

  it("titles a document after its file name and records a PDF's pages", async () => {
    const pdf = pdfWithText(['Hives in winter.', 'Cluster.']);
    const reply = await post('/documents', form([['Winter hives.pdf', pdf]]));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body['title'], 'Winter hives');
    assert.deepEqual((reply.body['metadata'] as Record<string, unknown>)['source'], {
      fileName: 'Winter hives.pdf',
      contentType: 'application/pdf',
      bytes: pdf.length,
      pages: 2,
    });
  });

  it('validates the extracted text like JSON text: over MAX_TEXT_CHARS is a 400 on text', async () => {
    const reply = await post('/documents', form([['long.txt', 'a'.repeat(1001)]]));
    assert.equal(reply.status, 400);
    assert.deepEqual(
      reply.body.error?.details?.map((d) => [d.path, d.rule]),
      [['text', 'too_big']],
    );
  });

  it('answers 413 for a file over UPLOAD_MAX_BYTES, and at once for a body declared larger than the upload limit', async () => {
    const big = await post('/documents', form([['big.txt', 'b'.repeat(4097)]]));
    assert.equal(big.status, 413);
    assert.match(big.body.error?.message ?? '', /UPLOAD_MAX_BYTES/);
    const declared = await declareLargeUpload(4096 + 2048 + 1); // the answer comes before a byte of the body was sent
    assert.equal(declared.status, 413);
    assert.match(declared.body, /UPLOAD_MAX_BYTES \+ BODY_LIMIT_BYTES/);
  });

  it('refuses forms the route does not take: no file, two files, an unknown field, metadata that is not a JSON object, a nameless file', async () => {
    const cases: Array<[string, FormData, string]> = [
      ['no file', form([], { title: 'x' }), 'required'],
      [
        'two files',
        form([
          ['a.txt', 'a'],
          ['b.txt', 'b'],
        ]),
        'limit_file_count',
      ],
      ['unknown field', form([['a.txt', 'a']], { status: 'ready' }), 'unrecognized_keys'],
      ['metadata not JSON', form([['a.txt', 'a']], { metadata: '{lang: en}' }), 'json'],
      ['metadata an array', form([['a.txt', 'a']], { metadata: '[1]' }), 'json'],
      ['a file part with an empty file name', form([['', 'a', 'text/plain']]), 'file_name'],
    ];
    for (const [name, body, rule] of cases) {
      const reply = await post('/documents', body);
      assert.equal(reply.status, 400, `${name}: ${JSON.stringify(reply.body)}`);
      assert.deepEqual(
        reply.body.error?.details?.map((d) => d.rule),
        [rule],
        name,
      );
    }
  });

  it('answers 400 for a malformed multipart body', async () => {
    const reply = await post('/documents', '--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nunterminated', {
      'content-type': 'multipart/form-data; boundary=b',
    });
    assert.equal(reply.status, 400, JSON.stringify(reply.body));
    assert.equal(reply.body.error?.code, 'validation_failed');
  });

  it('still takes JSON, and other routes still refuse multipart with 415', async () => {
    const json = await post('/documents', JSON.stringify({ text: 'plain JSON' }), { 'content-type': 'application/json' });
    assert.deepEqual(json, { status: 200, body: { text: 'plain JSON' } });
    const elsewhere = await post('/search', form([['a.txt', 'a']]));
    assert.equal(elsewhere.status, 415);
    assert.equal(elsewhere.body.error?.code, 'unsupported_media_type');
  });
});
