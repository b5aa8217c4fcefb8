/**
 * Typed access to the node_redis 3 connections a Bee-Queue queue opens: `client` (commands), `bclient`
 * (a worker's blocking BRPOPLPUSH) and `eclient` (pub/sub). Bee-Queue's typings do not declare them;
 * the script reloader and the worker's connection watchdog need them, and
 * nothing else should. Each is checked at run time, so a Bee-Queue upgrade that renames them shows up
 * as "no client" rather than as a crash.
 */
import type Queue from 'bee-queue';

/** The part of node_redis 3's RedisClient we use. */
export interface NodeRedisClient {
  readonly connected: boolean; // false while node_redis is reconnecting
  readonly ready: boolean; // connected and past its ready check (INFO): commands are sent, not queued
  readonly stream: { destroy(): void }; // destroying it makes node_redis reconnect
  on(event: 'ready', listener: () => void): unknown;
  ping(callback: (err: Error | null, reply: unknown) => void): unknown;
  publish(channel: string, message: string, callback: (err: Error | null) => void): unknown;
}

export interface BeeClients {
  client?: NodeRedisClient;
  bclient?: NodeRedisClient;
  eclient?: NodeRedisClient;
}

export function beeClients(queue: Queue<unknown>): BeeClients {
  const clients: BeeClients = {};
  for (const name of ['client', 'bclient', 'eclient'] as const) {
    const value: unknown = Reflect.get(queue, name);
    if (isNodeRedisClient(value)) clients[name] = value;
  }
  return clients;
}

function isNodeRedisClient(value: unknown): value is NodeRedisClient {
  if (typeof value !== 'object' || value === null) return false;
  const stream: unknown = Reflect.get(value, 'stream');
  return (
    typeof Reflect.get(value, 'connected') === 'boolean' &&
    typeof Reflect.get(value, 'ready') === 'boolean' &&
    typeof Reflect.get(value, 'ping') === 'function' &&
    typeof Reflect.get(value, 'publish') === 'function' &&
    typeof Reflect.get(value, 'on') === 'function' &&
    typeof stream === 'object' &&
    stream !== null &&
    typeof Reflect.get(stream, 'destroy') === 'function'
  );
}

/** Pings through one client; resolves true when Redis answered within timeoutMs. */
export function pingClient(client: NodeRedisClient, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    client.ping((err) => {
      clearTimeout(timer);
      resolve(err === null);
    });
  });
}
