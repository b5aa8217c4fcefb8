/**
 * A TCP proxy on 127.0.0.1 that can turn the connections it carries into half-open ones:
 * after blackholeExisting(), bytes on those connections go nowhere in either
 * direction and neither side is told, as when a peer vanishes without a FIN or a NAT entry expires;
 * connections opened afterwards are forwarded normally. Unlike dropping packets (iptables, tc), it
 * needs no privileges and disturbs nothing else on the machine. TCP keepalive cannot detect it (the
 * proxy's kernel answers the probes), so only an application-level check can.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  readonly url: string; // redis://127.0.0.1:<port>
  /** Connections currently carried (forwarded or blackholed). */
  readonly openConnections: number;
  /** Every open connection stops carrying bytes, silently; new connections are forwarded. Returns how many. */
  blackholeExisting(): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  isBlackholed: boolean;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: targetHost, port: targetPort });
    const pair: Pair = { client, upstream, isBlackholed: false };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (!pair.isBlackholed) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.isBlackholed) client.write(chunk);
    });
    client.on('close', end); // the application gave up on it: let go of both ends
    client.on('error', end);
    upstream.on('error', () => (pair.isBlackholed ? upstream.destroy() : end()));
    upstream.on('close', () => {
      if (!pair.isBlackholed) end(); // a blackholed client never learns that the server went away
    });
  });
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected proxy address ${String(address)}`);
  const port = address.port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get openConnections() {
      return pairs.size;
    },
    blackholeExisting() {
      for (const pair of pairs) pair.isBlackholed = true;
      return pairs.size;
    },
    close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
