/** The remove queue: delete documents by id or by metadata filter, logging every chunk delete. */
import { z } from 'zod';
import { Id } from '../input.js';

export const REMOVE_QUEUE = 'remove';

export const RemoveJob = z.strictObject({
  documentId: Id.optional(),
  where: z.unknown().optional(), // the client's filter: validated by the API, parsed again by the worker
  dryRun: z.boolean(),
  requestId: z.string().max(128),
});
export type RemoveJob = z.infer<typeof RemoveJob>;

export interface RemoveResult {
  documents: number;
  chunks: number;
  dryRun: boolean;
}
