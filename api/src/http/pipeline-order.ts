/**
 * Requests pipelined on one connection are handled in order after one that writes. Node answers
 * pipelined requests in order but runs their handlers at once, so a GET sent after a POST on the
 * same connection could read the database before the POST wrote to it. A request that follows a
 * non-idempotent one on its connection waits until that one's response has finished.
 */
import type { Socket } from 'node:net';
import type { RequestHandler } from 'express';

const READ_ONLY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function pipelineOrder(): RequestHandler {
  const writesInFlight = new WeakMap<Socket, Promise<void>>(); // per connection: the last write's end
  return (req, res, next) => {
    const socket = req.socket;
    const earlier = writesInFlight.get(socket);
    if (!READ_ONLY_METHODS.has(req.method)) {
      const finished = new Promise<void>((resolve) => {
        res.once('finish', resolve);
        res.once('close', resolve);
      });
      const chained = (earlier ?? Promise.resolve()).then(() => finished);
      writesInFlight.set(socket, chained);
      void chained.then(() => {
        if (writesInFlight.get(socket) === chained) writesInFlight.delete(socket);
      });
    }
    if (earlier) void earlier.then(() => next());
    else next();
  };
}
