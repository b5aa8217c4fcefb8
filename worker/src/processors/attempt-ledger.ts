/**
 * The attempt counts of jobs that start together in this worker, written in one transaction
 * (claimJobAttempts through coalescer.ts): a lone job's is written at once, and the jobs that start
 * while it is written share the next transaction instead of each taking the write lock.
 */
import type { Knex } from 'knex';
import { claimJobAttempts, type AttemptRef, type ClaimedAttempt } from '../../../shared/src/db/jobs-repo.js';
import { Coalescer } from '../../../shared/src/coalescer.js';

const MAX_GROUP = 64; // attempts per transaction at most; more jobs than this rarely start at once

export interface AttemptLedger {
  claim(ref: AttemptRef): Promise<ClaimedAttempt>;
}

export function createAttemptLedger(db: Knex): AttemptLedger {
  const group = new Coalescer<AttemptRef, ClaimedAttempt>(
    async (_key, refs) => (await claimJobAttempts(db, refs)).map((value) => ({ ok: true, value })),
    MAX_GROUP,
  );
  return { claim: (ref) => group.submit('jobs', ref) };
}
