/**
 * A Server-Sent Events client for tests and benchmarks: opens a stream with node:http (no browser,
 * no EventSource polyfill), parses it by the WHATWG rules (event, data, id, retry, comments, CRLF),
 * and stamps every event with its arrival time in sub-millisecond wall-clock time, so push latency
 * can be measured against a row's created_at. It never reconnects: reconnecting (with
 * Last-Event-ID) is the caller's move, so tests can see exactly what each connection delivered.
 */
import { request, type IncomingMessage } from 'node:http';

export interface SseEvent {
  event: string; // "message" when the stream named none
  data: string;
  id: string | undefined; // the id field of this event, if it had one
  receivedAt: number; // epoch ms with a fractional part (performance.timeOrigin + performance.now()): for intervals
  receivedAtWall: number; // Date.now(): the clock a row's created_at is stamped with, for latencies against it
}

export interface SseClientOptions {
  headers?: Record<string, string>;
  lastEventId?: string; // sent as Last-Event-ID
  connectTimeoutMs?: number; // until the response headers (default 10 s)
}

export interface SseClient {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly events: SseEvent[];
  readonly comments: Array<{ text: string; receivedAt: number }>;
  readonly retryMs: number | undefined;
  readonly lastEventId: string | undefined; // the last id seen, as EventSource keeps it
  readonly isEnded: boolean;
  /** Resolves when the server ends the stream (or the connection breaks). */
  readonly ended: Promise<void>;
  /** The first event (already received or future) matching predicate; rejects after timeoutMs or when the stream ends first. */
  waitFor(predicate: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Parses an event's data as JSON. */
  json<T = unknown>(event: SseEvent): T;
  close(): void;
}

export class SseStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`event stream answered ${status}: ${body.slice(0, 500)}`);
    this.name = 'SseStatusError';
  }
}

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Opens the stream; resolves once a 200 text/event-stream response has started, else rejects (SseStatusError for an HTTP error). */
export function openSseClient(url: string, options: SseClientOptions = {}): Promise<SseClient> {
  const headers: Record<string, string> = { Accept: 'text/event-stream', ...options.headers };
  if (options.lastEventId !== undefined) headers['Last-Event-ID'] = options.lastEventId;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers });
    const timer = setTimeout(
      () => req.destroy(new Error(`no response from ${url} within ${options.connectTimeoutMs ?? 10_000} ms`)),
      options.connectTimeoutMs ?? 10_000,
    );
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.once('response', (res) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.once('end', () => reject(new SseStatusError(res.statusCode ?? 0, body)));
        return;
      }
      resolve(createClient(req, res));
    });
    req.end();
  });
}

function createClient(req: ReturnType<typeof request>, res: IncomingMessage): SseClient {
  const events: SseEvent[] = [];
  const comments: SseClient['comments'] = [];
  const watchers = new Set<() => void>();
  let buffer = '';
  let pending = { event: '', data: [] as string[], id: undefined as string | undefined };
  let lastEventId: string | undefined;
  let retryMs: number | undefined;
  let isEnded = false;
  let markEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (markEnded = resolve));

  const finish = () => {
    if (isEnded) return;
    isEnded = true;
    markEnded();
    for (const watcher of [...watchers]) watcher();
  };
  const line = (text: string, receivedAt: number, receivedAtWall: number) => {
    if (text === '') {
      if (pending.data.length > 0) {
        events.push({ event: pending.event || 'message', data: pending.data.join('\n'), id: pending.id, receivedAt, receivedAtWall });
        for (const watcher of [...watchers]) watcher();
      }
      pending = { event: '', data: [], id: undefined };
      return;
    }
    if (text.startsWith(':')) {
      comments.push({ text: text.slice(1).trim(), receivedAt });
      return;
    }
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? '' : text.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') pending.event = value;
    else if (field === 'data') pending.data.push(value);
    else if (field === 'id' && !value.includes('\u0000')) pending.id = lastEventId = value;
    else if (field === 'retry' && /^[0-9]+$/.test(value)) retryMs = Number(value);
  };

  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    const receivedAt = nowMs();
    const receivedAtWall = Date.now();
    buffer += chunk;
    const parts = buffer.split(/\r\n|\r|\n/);
    buffer = parts.pop() ?? '';
    for (const part of parts) line(part, receivedAt, receivedAtWall);
  });
  res.once('end', finish);
  res.once('close', finish);
  res.once('error', finish);

  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    events,
    comments,
    get retryMs() {
      return retryMs;
    },
    get lastEventId() {
      return lastEventId;
    },
    get isEnded() {
      return isEnded;
    },
    ended,
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(predicate);
          if (found) {
            done();
            resolve(found);
          } else if (isEnded) {
            done();
            reject(new Error(`the event stream ended before a matching event; got ${events.map((e) => e.event).join(', ') || 'nothing'}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${events.map((e) => e.event).join(', ') || 'nothing'}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    json<T = unknown>(event: SseEvent): T {
      return JSON.parse(event.data) as T;
    },
    close() {
      req.destroy();
      finish();
    },
  };
}
