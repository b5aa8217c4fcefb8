/**
 * What a processor returns across the queue: a value, or an expected failure a retry cannot fix.
 * Transient failures are thrown instead, so Bee-Queue retries them.
 */
import type { JobFailure } from '../errors.js';

export type JobResult<T> = { ok: true; value: T } | JobFailure;

export const QUEUE_NAMES = ['ingest', 'remove', 'search', 'answer'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
