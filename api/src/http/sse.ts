/**
 * Server-Sent Events writer. Opens the stream with headers no proxy buffers (X-Accel-Buffering: no,
 * no-transform), tells clients how soon to reconnect (`retry:`), writes a comment line every
 * SSE_HEARTBEAT_MS (routers drop a response silent for 55 s), and is backpressure-safe: a slow
 * client first loses droppable events (deltas), and a stream whose buffer still grows past the cap
 * is closed, so the client reconnects with Last-Event-ID and replays what it missed from SQL.
 * The registry ends every open stream on SIGTERM, so server.close() can finish and clients move on.
 */
import type { Request, Response } from 'express';

const MAX_BUFFERED_BYTES = 1 << 20; // a client this far behind is cut off and replays on reconnect

export interface SseOptions {
  heartbeatMs: number;
  retryMs: number;
}

export interface SseStream {
  readonly isClosed: boolean;
  /** Writes one event; `isDroppable` events are skipped while the client is not keeping up. */
  send(event: string, data: unknown, options?: { id?: number; isDroppable?: boolean }): void;
  close(): void;
  onClose(listener: () => void): void;
}

export interface SseRegistry {
  readonly size: number;
  open(req: Request, res: Response, options: SseOptions): SseStream;
  /** Ends every open stream, and from now on every new one at once (shutdown): clients reconnect elsewhere with Last-Event-ID. */
  closeAll(): void;
}

export function createSseRegistry(): SseRegistry {
  const streams = new Set<SseStream>();
  let isClosing = false;
  return {
    get size() {
      return streams.size;
    },
    open(req, res, options) {
      const stream = openSseStream(req, res, options);
      if (isClosing) stream.close(); // a request that raced the shutdown on a kept-alive connection
      streams.add(stream);
      stream.onClose(() => streams.delete(stream));
      return stream;
    },
    closeAll() {
      isClosing = true;
      for (const stream of [...streams]) stream.close();
    },
  };
}

export function openSseStream(req: Request, res: Response, options: SseOptions): SseStream {
  const closeListeners: Array<() => void> = [];
  let isClosed = false;
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  res.shouldKeepAlive = false; // the connection ends with the stream: nothing keeps server.close() waiting
  req.socket.setNoDelay(true);
  req.socket.setTimeout(0);
  res.flushHeaders();
  res.write(`retry: ${options.retryMs}\n: connected\n\n`);

  const heartbeat = setInterval(() => write(`: heartbeat ${Date.now()}\n\n`), options.heartbeatMs);
  heartbeat.unref();

  const finish = () => {
    if (isClosed) return;
    isClosed = true;
    clearInterval(heartbeat);
    for (const listener of closeListeners.splice(0)) listener();
  };
  res.once('close', finish);

  function write(chunk: string, isDroppable = true): void {
    if (isClosed) return;
    if (isDroppable && res.writableNeedDrain) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      stream.close(); // too far behind to keep every message: reconnect and replay
      return;
    }
    res.write(chunk);
  }

  const stream: SseStream = {
    get isClosed() {
      return isClosed;
    },
    send(event, data, sendOptions = {}) {
      const id = sendOptions.id === undefined ? '' : `id: ${sendOptions.id}\n`;
      write(`${id}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, sendOptions.isDroppable ?? false);
    },
    close() {
      if (isClosed) return;
      res.end();
      finish();
    },
    onClose(listener) {
      if (isClosed) listener();
      else closeListeners.push(listener);
    },
  };
  return stream;
}
