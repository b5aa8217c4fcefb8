/**
 * Keeps Bee-Queue's Lua scripts loaded in Redis. Bee-Queue loads them once, when a queue first
 * connects, and then only calls EVALSHA; Redis keeps scripts in memory only, so after any Redis
 * restart (or SCRIPT FLUSH, or a failover) every save, stall check and delayed-job raise fails with
 * NOSCRIPT until the process restarts. Measured: after a restart the API answered every enqueue with
 * NOSCRIPT. So the scripts are loaded again each time a queue's command connection is ready again,
 * and a save that still meets NOSCRIPT (it raced the reconnect) reloads them and is tried once more.
 */
import { createRequire } from 'node:module';
import type Queue from 'bee-queue';
import { beeClients } from './bee-clients.js';

/** Loads every Bee-Queue script Redis does not have (SCRIPT EXISTS, then SCRIPT LOAD). */
export async function reloadQueueScripts(queue: Queue<unknown>): Promise<void> {
  const { client } = beeClients(queue);
  if (client === undefined) return;
  await beeLuaCache().buildCache(client);
}

/** After the queue's first connection, reloads the scripts on every reconnect; failures go to the queue's 'error' listeners. */
export function keepQueueScriptsLoaded(queue: Queue<unknown>): void {
  queue.ready().then(
    () => {
      beeClients(queue).client?.on('ready', () => {
        reloadQueueScripts(queue).catch((err: unknown) => queue.emit('error', asError(err, 'reloading queue scripts failed')));
      });
    },
    (err: unknown) => queue.emit('error', asError(err, 'queue did not connect')),
  );
}

/** Saves a job; on NOSCRIPT reloads the scripts and saves once more (the failed EVALSHA ran nothing). */
export async function saveJob<T>(queue: Queue<unknown>, job: Queue.Job<T>): Promise<Queue.Job<T>> {
  try {
    return await job.save();
  } catch (err) {
    if (!isNoScriptError(err)) throw err;
    await reloadQueueScripts(queue);
    return job.save();
  }
}

export function isNoScriptError(err: unknown): boolean {
  return err instanceof Error && (Reflect.get(err, 'code') === 'NOSCRIPT' || err.message.startsWith('NOSCRIPT'));
}

interface BeeLuaCache {
  buildCache(client: unknown): Promise<unknown>;
}

/** Bee-Queue's own script module (lib/lua), which knows the scripts and their SHA-1s. */
function beeLuaCache(): BeeLuaCache {
  const loaded: unknown = createRequire(import.meta.url)('bee-queue/lib/lua/index.js');
  const buildCache: unknown = typeof loaded === 'object' && loaded !== null ? Reflect.get(loaded, 'buildCache') : undefined;
  if (typeof buildCache !== 'function') throw new Error('bee-queue/lib/lua has no buildCache(): check the Bee-Queue version');
  return { buildCache: (client) => Promise.resolve(Reflect.apply(buildCache, loaded, [client])) };
}

function asError(err: unknown, message: string): Error {
  return err instanceof Error ? err : new Error(`${message}: ${String(err)}`);
}
