/** Response headers: helmet's set on every answer, no X-Powered-By, and CORS only for configured origins. */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import express from 'express';
import { securityHeaders } from '../src/http/security-headers.js';

const servers: Server[] = [];

async function serve(corsOrigins: string[]): Promise<string> {
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders({ CORS_ORIGINS: corsOrigins }));
  app.get('/documents', (_req, res) => void res.json({ documents: [] }));
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

after(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
});

describe('securityHeaders', () => {
  it('sets helmet headers and no X-Powered-By', async () => {
    const response = await fetch(`${await serve([])}/documents`);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(response.headers.get('x-powered-by'), null);
  });

  it('sends no CORS header at all when CORS_ORIGINS is unset', async () => {
    const response = await fetch(`${await serve([])}/documents`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(response.headers.get('access-control-allow-origin'), null);
  });

  it('answers preflights and requests from listed origins only', async () => {
    const base = await serve(['https://app.example.com']);
    const preflight = await fetch(`${base}/documents`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    const listed = await fetch(`${base}/documents`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(listed.headers.get('access-control-allow-origin'), 'https://app.example.com');
    const other = await fetch(`${base}/documents`, { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });
});
