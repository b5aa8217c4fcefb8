/**
 * The checker's judgements that need no I/O, each a pure function of the history and one
 * observation, so they are unit-tested on their own (chaos/test/verdicts.test.ts): what a document's
 * state must be at the end, and how many documents a removal may count. A write answered without a
 * 202 is uncertain (history.ts): it may have taken effect or not, and either is right.
 */
import type { DocumentRecord, RemovalRecord } from './history.js';

export interface DocumentView {
  status: string;
  revision: number;
  chunkCount: number;
  error: string | null;
}

export type DocumentVerdict =
  | { kind: 'absent' } // removed, as it had to be or as an uncertain removal may have done
  | { kind: 'lost'; detail: string }
  | { kind: 'failed' } // failed with a reason: not lost
  | { kind: 'ready'; isAcknowledgedRevision: boolean }; // false: a later revision whose POST got no 202 holds it

/** What GET /documents/:id (`status`, `view`) says about `doc` once everything settled. */
export function judgeDocument(doc: DocumentRecord, status: number, view: DocumentView | undefined): DocumentVerdict {
  if (doc.isRemovalTarget) return status === 404 ? { kind: 'absent' } : { kind: 'lost', detail: `removal target ${doc.id} still exists (${status})` };
  if (doc.mayBeRemoved && status === 404) return { kind: 'absent' };
  const last = doc.ingests[doc.ingests.length - 1];
  if (last === undefined) return { kind: 'absent' };
  // A later revision is fine: a POST for this id that got a 503 may still have stored its row (and the sweep indexes it).
  if (view === undefined || view.revision < last.revision || (view.status !== 'ready' && view.status !== 'failed')) {
    return { kind: 'lost', detail: `document ${doc.id}@${last.revision} acknowledged, now ${view ? `${view.status}@${view.revision}` : String(status)}` };
  }
  if (view.status === 'failed') return { kind: 'failed' };
  return { kind: 'ready', isAcknowledgedRevision: view.revision === last.revision };
}

/**
 * What is wrong with a succeeded removal that counted `counted` documents, if anything: it takes
 * every acknowledged target, and may also take documents whose POST got no 202 but stored the row.
 */
export function removalCountError(removal: RemovalRecord, counted: number | undefined): string | undefined {
  const least = removal.targets.length;
  const most = least + removal.uncertain.length;
  if (counted !== undefined && counted >= least && counted <= most) return undefined;
  const expected = most === least ? `${least}` : `${least}–${most}`;
  return `removal ${removal.jobId} succeeded counting ${String(counted)} of ${expected} targets`;
}
