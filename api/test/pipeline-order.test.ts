/** Pipelined requests over one real TCP connection: a read sent after a write sees the write. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import { pipelineOrder } from '../src/http/pipeline-order.js';

function appWithSlowWrite(): express.Express {
  const app = express();
  app.use(pipelineOrder());
  let value = 'before';
  app.post('/value', async (_req, res) => {
    await delay(100); // a slow commit
    value = 'after';
    res.status(202).json({ ok: true });
  });
  app.get('/value', (_req, res) => {
    res.json({ value });
  });
  return app;
}

function pipelined(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(raw)); // the server closes after the second answer (Connection: close)
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('pipelineOrder', () => {
  it('handles a GET pipelined after a POST once the POST has answered', async () => {
    const server = appWithSlowWrite().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const post = 'POST /value HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n';
      const get = 'GET /value HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
      const reply = await pipelined(port, post + get);
      assert.match(reply, /HTTP\/1\.1 202[\s\S]*HTTP\/1\.1 200[\s\S]*"value":"after"/);
    } finally {
      server.close();
    }
  });
});
