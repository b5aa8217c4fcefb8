/**
 * Every queue colmeia has, by name. Adding a queue is one definition file (jobs/<queue>.ts), one
 * line here, and its processor in the worker's table (worker/src/processors/processor-table.ts).
 */
import type { z } from 'zod';
import { ingestQueue } from './ingest.js';
import { ingestBatchQueue } from './ingest-batch.js';
import { removeQueue } from './remove.js';
import { searchQueue } from './search.js';
import { answerQueue } from './answer.js';
import { dropCollectionQueue } from './drop-collection.js';
import { reindexQueue } from './reindex.js';

export const QUEUES = {
  ingest: ingestQueue,
  'ingest-batch': ingestBatchQueue,
  remove: removeQueue,
  search: searchQueue,
  answer: answerQueue,
  'drop-collection': dropCollectionQueue,
  reindex: reindexQueue,
} as const;

export type QueueName = keyof typeof QUEUES;
export const QUEUE_NAMES = Object.keys(QUEUES) as [QueueName, ...QueueName[]];

export type PayloadOf<N extends QueueName> = z.infer<(typeof QUEUES)[N]['payload']>;
export type ResultOf<N extends QueueName> = (typeof QUEUES)[N] extends { outcomeStatus(result: infer R): unknown } ? R : never;

export function isQueueName(name: string): name is QueueName {
  return Object.hasOwn(QUEUES, name);
}
