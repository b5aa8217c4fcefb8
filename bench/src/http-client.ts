/**
 * A small keep-alive HTTP client for the benchmark's own requests (sequential latency, ingest, chat):
 * node:http with one persistent agent, so a timing holds the request, not a TCP handshake. Every
 * request carries the API key, as a production client's would. A socket left idle past the
 * server's keep-alive timeout (the benchmark computes in between) may be closed just as it is
 * reused: that request is sent once more, on a new socket outside the pool, as Node's documentation advises.
 */
import { Agent, request } from 'node:http';

export interface HttpReply {
  status: number;
  body: unknown; // parsed JSON; the raw text when the body is not JSON
  ms: number; // from the call until the whole body was read
}

export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    readonly baseUrl: string,
    readonly apiKey: string,
  ) {}

  get headers(): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json' };
  }

  async send(method: string, path: string, body?: unknown): Promise<HttpReply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    try {
      return await this.sendOnce(method, path, payload);
    } catch (err) {
      if (!(err instanceof StaleSocketError)) throw err;
      // on a new socket: after a long pause every idle socket of the pool may be stale, and the pool would hand out the next one
      return this.sendOnce(method, path, payload, new Agent({ keepAlive: false }));
    }
  }

  private sendOnce(method: string, path: string, payload: string | undefined, agent = this.agent): Promise<HttpReply> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.baseUrl),
        { method, agent, headers: { ...this.headers, ...(payload ? { 'content-length': String(Buffer.byteLength(payload)) } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('error', reject);
          res.once('end', () => {
            const ms = performance.now() - started;
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, body: parseJson(text), ms });
          });
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path} got no answer within 60 s`)));
      req.once('error', (err: NodeJS.ErrnoException) => reject(req.reusedSocket && err.code === 'ECONNRESET' ? new StaleSocketError(err) : err));
      req.end(payload);
    });
  }

  /** Like send, but a status other than `expected` is an error naming the body. */
  async expect(expected: number, method: string, path: string, body?: unknown): Promise<HttpReply> {
    const reply = await this.send(method, path, body);
    if (reply.status !== expected) throw new Error(`${method} ${path} answered ${reply.status}, not ${expected}: ${JSON.stringify(reply.body).slice(0, 500)}`);
    return reply;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The server closed a kept-alive socket as this request reused it: nothing reached the handler. */
class StaleSocketError extends Error {
  constructor(cause: Error) {
    super('a kept-alive socket was closed by the server as it was reused', { cause });
    this.name = 'StaleSocketError';
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
