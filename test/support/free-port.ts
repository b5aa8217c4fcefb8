/**
 * A TCP port on 127.0.0.1 that nothing listens on right now: the kernel picks it for a listener
 * that is closed at once. Another process may take it before the caller binds it, so callers that
 * can tell a bind failure apart (startRedisServer) try again with a new port.
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected listener address ${String(address)}`));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}
