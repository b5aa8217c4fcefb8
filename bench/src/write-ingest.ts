/**
 * Ingest of many one-chunk documents as a client writes them, until searchable: through POST
 * /documents/batch (MAX_BATCH_DOCUMENTS per request, a few requests in flight) or one POST
 * /documents per document (16 in flight). "Searchable" is what ?wait=true waits for: every document
 * ready, and every live worker's applied seq (its heartbeat's or the one it records on hearing a
 * commit, shared/src/applied-seqs.ts) at or past the collection's last vector_log seq. Polled every
 * 10 ms, from the first POST.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { readAppliedSeqs } from '../../shared/src/applied-seqs.js';
import { latestSeq } from '../../shared/src/db/chunks-repo.js';
import { countDocumentsByStatus } from '../../shared/src/db/documents-repo.js';
import { readHeartbeats } from '../../shared/src/heartbeats.js';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import type { HttpClient } from './http-client.js';

const POLL_MS = 10;
const RETRY_MS = 100;
const MAX_RETRIES = 100; // in the whole run
const WORDS = ['hive', 'comb', 'nectar', 'pollen', 'queen', 'drone', 'worker', 'wax', 'brood', 'swarm', 'forage', 'honey', 'bloom', 'clover', 'meadow'];

export interface WriteRun {
  documents: number;
  requests: number;
  retried: number; // requests answered 503 and sent again
  readyMs: number; // first POST → every document ready
  searchableMs: number; // first POST → every live worker applied the last seq
  docsPerSecond: number; // until searchable
}

export interface WritePlan {
  documents: number;
  perRequest: number; // 1: POST /documents; more: POST /documents/batch
  inFlight: number;
  timeoutMs: number;
}

/** About 560 characters of words picked by the document's number: one chunk at the default CHUNK_SIZE, a different text per document. */
export function oneChunkText(n: number): string {
  const words = Array.from({ length: 90 }, (_, i) => WORDS[(n * 7 + i * 3 + Math.floor(n / (i + 1))) % WORDS.length] ?? 'bee');
  return `Note ${n}: ${words.join(' ')}.`;
}

export async function writeAndWait(db: Knex, client: HttpClient, redisUrl: string, queuePrefix: string, plan: WritePlan): Promise<WriteRun> {
  const batches: Array<Array<{ id: string; text: string }>> = [];
  for (let start = 0; start < plan.documents; start += plan.perRequest) {
    const end = Math.min(plan.documents, start + plan.perRequest);
    batches.push(Array.from({ length: end - start }, (_, i) => ({ id: `w${start + i}`, text: oneChunkText(start + i) })));
  }
  const startedAt = performance.now();
  let next = 0;
  let retried = 0;
  const poster = async () => {
    for (let batch = batches[next++]; batch; batch = batches[next++]) {
      const [path, body] = plan.perRequest === 1 ? ['/documents', batch[0]] : ['/documents/batch', { documents: batch }];
      // a 503 is the API's "try again" (the database was busy): a client retries it, and the run counts it
      for (let reply = await client.send('POST', path, body); reply.status !== 202; reply = await client.send('POST', path, body)) {
        if (reply.status !== 503 || ++retried > MAX_RETRIES)
          throw new Error(`POST ${path} answered ${reply.status}: ${JSON.stringify(reply.body).slice(0, 300)}`);
        await delay(RETRY_MS);
      }
    }
  };
  await Promise.all(Array.from({ length: plan.inFlight }, poster));
  const deadline = startedAt + plan.timeoutMs;
  const readyMs = await pollUntil(deadline, async () => {
    const counts = await countDocumentsByStatus(db);
    return counts.ready + counts.failed >= plan.documents;
  });
  const lastSeq = await latestSeq(db, DEFAULT_COLLECTION);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const searchableMs = await pollUntil(deadline, async () => {
      const live = await readHeartbeats(redis, queuePrefix, 60_000);
      const applied = await readAppliedSeqs(redis, queuePrefix, DEFAULT_COLLECTION, live);
      return applied.length > 0 && applied.every((worker) => worker.appliedSeq >= lastSeq);
    });
    const run = { documents: plan.documents, requests: batches.length, retried, readyMs: readyMs - startedAt, searchableMs: searchableMs - startedAt };
    return { ...run, docsPerSecond: (plan.documents / run.searchableMs) * 1_000 };
  } finally {
    redis.disconnect();
  }
}

/** performance.now() when `isDone` first holds; throws past the deadline. */
async function pollUntil(deadline: number, isDone: () => Promise<boolean>): Promise<number> {
  for (;;) {
    if (await isDone()) return performance.now();
    if (performance.now() > deadline) throw new Error('ingest did not become searchable in time');
    await delay(POLL_MS);
  }
}
