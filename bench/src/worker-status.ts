/**
 * What GET /status says about one worker's indexes (its heartbeat: size, applied and checkpoint seq
 * per collection), and a wait until they meet a condition. The heartbeat is written once the worker
 * has loaded every collection's index and then every HEARTBEAT_INTERVAL_MS.
 */
import { z } from 'zod';
import type { HttpClient } from './http-client.js';

const POLL_MS = 20;

const CollectionStats = z.object({ size: z.number(), appliedSeq: z.number(), checkpointSeq: z.number() });
export type CollectionStats = z.infer<typeof CollectionStats>;

const Status = z.object({
  workers: z.array(z.object({ pid: z.number(), collections: z.record(z.string(), CollectionStats).optional() })),
});

/** The collections of worker `pid` as GET /status shows them; undefined while it has no heartbeat. */
export async function workerCollections(client: HttpClient, pid: number): Promise<Record<string, CollectionStats> | undefined> {
  const reply = await client.expect(200, 'GET', '/status');
  const status = Status.parse(reply.body);
  return status.workers.find((worker) => worker.pid === pid)?.collections;
}

/** Polls GET /status until worker `pid`'s collections satisfy `isDone`; resolves with them. */
export async function waitForWorkerCollections(
  client: HttpClient,
  pid: number,
  isDone: (collections: Record<string, CollectionStats>) => boolean,
  timeoutMs: number,
): Promise<Record<string, CollectionStats>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const collections = await workerCollections(client, pid);
    if (collections !== undefined && isDone(collections)) return collections;
    if (performance.now() > deadline)
      throw new Error(`worker ${pid}'s indexes did not reach the expected state within ${timeoutMs} ms: ${JSON.stringify(collections)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Every collection's checkpoint holds everything its index applied: no checkpoint write is pending. */
export function isCheckpointed(collections: Record<string, CollectionStats>): boolean {
  return Object.values(collections).every((stats) => stats.checkpointSeq === stats.appliedSeq);
}
