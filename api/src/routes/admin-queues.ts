/**
 * The queue dashboard at /admin/queues: bull-arena, which speaks Bee-Queue, mounted behind the API-key
 * check like every route but /health. It gets its own read-mostly Bee-Queue connections (no worker,
 * no events; one per queue, opened on the first visit of that queue's page).
 *
 * Arena is an Express 4 app, and two of its habits would end the web process, so they are corrected
 * here (both measured before the fix):
 * - its queue page awaits `client.info()`, a promise on ioredis but `true` on node_redis 3 (Bee-Queue's
 *   client), so every visit threw; the dashboard's queue class gives info() a promise when no
 *   callback is passed;
 * - its page handlers are async functions, and Express 4 ignores the promise they return: any Redis
 *   error became an unhandled rejection, which stops Node. Each handler's rejection now goes to
 *   next(err), where the error handler answers 500 and the process lives on.
 */
import { createRequire } from 'node:module';
import BeeQueue from 'bee-queue';
import type { RequestHandler } from 'express';
import type { Config } from '../../../shared/src/config.js';
import { QUEUE_NAMES } from '../../../shared/src/jobs/queue-table.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import { redisOptions } from '../../../shared/src/queue/queues.js';
import { keepQueueScriptsLoaded } from '../../../shared/src/queue/queue-scripts.js';

export const ADMIN_QUEUES_PATH = '/admin/queues';
const WATCHED = Symbol('colmeia.watched'); // marks a wrapped handler: Arena's routers are shared by every app built

type DashboardConfig = Pick<Config, 'QUEUE_PREFIX' | 'REDIS_URL' | 'REDIS_TLS_REJECT_UNAUTHORIZED' | 'REDIS_KEEPALIVE_MS'>;

/** Arena as one request handler; mount it with app.use(ADMIN_QUEUES_PATH, ...). */
export function adminQueuesDashboard(config: DashboardConfig, logger: Logger): RequestHandler {
  const arena = loadArena();
  const app: unknown = arena(
    {
      Bee: dashboardQueueClass(logger),
      queues: QUEUE_NAMES.map((name) => ({ type: 'bee', name, hostId: 'colmeia', prefix: config.QUEUE_PREFIX, redis: redisOptions(config) })),
    },
    { disableListen: true, basePath: '/', useCdn: false }, // vendor files from the package, not a CDN
  );
  if (typeof app !== 'function') throw new Error('bull-arena did not return an Express app');
  catchAsyncRejections(Reflect.get(app, '_router'));
  // Express 5 mounts an app (a function with handle and set) as a sub-app, so Arena's requests keep
  // Express 5's request and response prototypes underneath its own, as a mounted app expects.
  return app as RequestHandler; // checked to be a function above; Express 5 calls it as (req, res, next)
}

type ArenaFactory = (config: Record<string, unknown>, listenOptions: Record<string, unknown>) => unknown;

function loadArena(): ArenaFactory {
  const arena: unknown = createRequire(import.meta.url)('bull-arena');
  if (typeof arena !== 'function') throw new Error('bull-arena exports no function: check its version');
  return (config, listenOptions): unknown => Reflect.apply(arena, undefined, [config, listenOptions]);
}

/**
 * Bee-Queue for Arena: its errors are logged (an unheard 'error' event throws), its scripts come back
 * after a Redis restart, and its client's info() also answers with a promise.
 */
function dashboardQueueClass(logger: Logger): typeof BeeQueue {
  return class DashboardQueue<T> extends BeeQueue<T> {
    constructor(name: string, settings?: BeeQueue.QueueSettings) {
      super(name, settings);
      this.on('error', (err: Error) => logger.warn('dashboard queue error', { queue: name, err: serializeError(err) }));
      keepQueueScriptsLoaded(this as BeeQueue<unknown>); // its remove and retry buttons use Bee-Queue's scripts too
      this.ready().then(
        () => promisifyInfo(Reflect.get(this, 'client')),
        (err: unknown) => logger.warn('dashboard queue did not connect', { queue: name, err: serializeError(err) }),
      );
    }
  };
}

/** node_redis 3: `info(cb)` stays as it is (its ready check uses it); `info()` returns a promise of the text. */
function promisifyInfo(client: unknown): void {
  if (typeof client !== 'object' || client === null) return;
  const info: unknown = Reflect.get(client, 'info');
  if (typeof info !== 'function') return;
  Reflect.set(client, 'info', (...args: unknown[]) => {
    if (typeof args.at(-1) === 'function') return Reflect.apply(info, client, args) as unknown;
    return new Promise((resolve, reject) => {
      Reflect.apply(info, client, [...args, (err: Error | null, text: unknown) => (err ? reject(err) : resolve(text))]);
    });
  });
}

/** Walks an Express 4 router and makes each handler's rejected promise reach next(err). */
function catchAsyncRejections(router: unknown): void {
  const stack: unknown = typeof router === 'function' || typeof router === 'object' ? Reflect.get(router ?? {}, 'stack') : undefined;
  if (!Array.isArray(stack)) return;
  for (const layer of stack) {
    if (typeof layer !== 'object' || layer === null) continue;
    const route: unknown = Reflect.get(layer, 'route');
    if (typeof route === 'object' && route !== null) catchAsyncRejections(route); // a route's own stack of handlers
    const handle: unknown = Reflect.get(layer, 'handle');
    if (typeof handle !== 'function') continue;
    if (Array.isArray(Reflect.get(handle, 'stack'))) {
      catchAsyncRejections(handle); // a nested router
    } else if (route === undefined && handle.length <= 3 && Reflect.get(handle, WATCHED) !== true) {
      Reflect.set(layer, 'handle', watched(handle));
    }
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- what `typeof handle === 'function'` narrows to
function watched(handle: Function): (req: unknown, res: unknown, next: (err?: unknown) => void) => void {
  const wrapper = (req: unknown, res: unknown, next: (err?: unknown) => void): void => {
    const result: unknown = Reflect.apply(handle, undefined, [req, res, next]);
    if (result instanceof Promise) result.catch(next);
  };
  Reflect.set(wrapper, WATCHED, true);
  return wrapper;
}
