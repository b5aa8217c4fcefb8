/** The remove queue: delete documents by id or by metadata filter, logging every chunk delete. */
import { z } from 'zod';
import { ConflictError } from '../errors.js';
import { Id } from '../input.js';
import { defineQueue, succeeded } from './queue-definition.js';
import { WherePayload } from './where-payload.js';

export const RemoveJob = z.union([
  z.strictObject({ documentId: Id, dryRun: z.boolean(), requestId: z.string().max(128) }),
  z.strictObject({ where: WherePayload, dryRun: z.boolean(), requestId: z.string().max(128) }),
]);
export type RemoveJob = z.infer<typeof RemoveJob>;

export interface RemoveResult {
  documents: number;
  chunks: number;
  dryRun: boolean;
}

export const removeQueue = defineQueue<'remove', RemoveJob, RemoveResult>({
  name: 'remove',
  payload: RemoveJob,
  policy: {
    timeoutMs: (c) => c.REMOVE_TIMEOUT_MS,
    concurrency: (c) => c.REMOVE_CONCURRENCY,
    attempts: (c) => c.JOB_ATTEMPTS,
    backoffMs: (c) => c.JOB_BACKOFF_MS,
    isAwaited: false,
    isAttemptCapped: true,
    isOutcomeStored: true,
    outcomeLogLevel: 'info',
  },
  retry: {
    isAllowed: true,
    payload: async (_s, failed) => {
      const data = RemoveJob.safeParse(failed.data);
      if (!data.success) throw new ConflictError(`job remove/${failed.jobId} no longer has its data: send the removal again`);
      return { ...data.data, requestId: failed.requestId };
    },
  },
  outcomeStatus: succeeded,
});
