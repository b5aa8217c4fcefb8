/**
 * The SQL writes of ingest jobs that run together in this worker, made together (coalescer.ts):
 * the claims of revisions that start at once share one transaction (claimRevisionsForIndexing, as a
 * batch's do), and so do the commits of documents whose vectors are ready at once — one
 * replaceChunksOfDocuments, as a batch commits, with each job's outcome row saved in it — followed
 * by one index sync and one commit announcement for the group. A lone job is written at once. A
 * group's commit that fails is tried again one job at a time, so it fails only the job it must
 * (and every other one still commits); the commits of one collection and generations run in turn.
 */
import type { Knex } from 'knex';
import { replaceChunksOfDocuments, type CommitGenerations, type NewChunk, type ReplaceOutcome } from '../../../shared/src/db/chunks-repo.js';
import { claimRevisionsForIndexing, type ClaimedRevision } from '../../../shared/src/db/documents-repo.js';
import { logWriteTransaction } from '../../../shared/src/db/write-transaction.js';
import { Coalescer, distinctRounds, settle, type Settled } from '../../../shared/src/coalescer.js';
import type { CollectionIndexes } from '../vectors/collection-indexes.js';
import type { CommitAnnouncements } from '../commit-announcements.js';

export type Replaced = Extract<ReplaceOutcome, { status: 'replaced' }>;

export interface GroupedCommit {
  collection: string;
  generations: { generation: number; staged: CommitGenerations['staged'] }; // as fenced-commit.ts made them; staged: one per chunk
  document: { documentId: string; revision: number; contentHash: string; chunks: NewChunk[] };
  onCommit: (trx: Knex, replaced: Replaced) => Promise<void>; // runs in the commit (the job's outcome row)
}

type RevisionRef = { documentId: string; revision: number };

export interface IngestGroups {
  /** The revision marked indexing and read back, or undefined when it is gone or no longer the document's. */
  claim(collection: string, ref: RevisionRef): Promise<ClaimedRevision | undefined>;
  /** The document's chunks committed (or superseded); once replaced, the index is synced and the commit announced. */
  commit(input: GroupedCommit): Promise<ReplaceOutcome>;
}

export interface IngestGroupParts {
  db: Knex;
  indexes: Pick<CollectionIndexes, 'synced'>;
  commits: Pick<CommitAnnouncements, 'announce'>;
  maxGroup: number;
}

export function createIngestGroups(p: IngestGroupParts): IngestGroups {
  const claims = new Coalescer<RevisionRef, ClaimedRevision | undefined>((collection, refs) => claimTogether(p.db, collection, refs), p.maxGroup);
  const commits = new Coalescer<GroupedCommit, ReplaceOutcome>((_key, items) => commitGroup(p, items), p.maxGroup);
  return {
    claim: (collection, ref) => claims.submit(collection, ref),
    commit: (input) => commits.submit(groupKey(input), input),
  };
}

/** Commits share a transaction only when fenced on the same generations (one fence check for all). */
function groupKey(input: GroupedCommit): string {
  return `${input.collection}\n${input.generations.generation}\n${input.generations.staged?.generation ?? '-'}`;
}

async function claimTogether(db: Knex, collection: string, refs: RevisionRef[]): Promise<Array<Settled<ClaimedRevision | undefined>>> {
  const highest = new Map<string, number>(); // a lower revision of the same document is superseded anyway
  for (const ref of refs) highest.set(ref.documentId, Math.max(ref.revision, highest.get(ref.documentId) ?? 0));
  const claimed = await claimRevisionsForIndexing(
    db,
    collection,
    [...highest].map(([documentId, revision]) => ({ documentId, revision })),
  );
  return refs.map((ref) => {
    const doc = claimed.get(ref.documentId);
    return { ok: true, value: doc?.revision === ref.revision ? doc : undefined };
  });
}

async function commitGroup(p: IngestGroupParts, items: GroupedCommit[]): Promise<Array<Settled<ReplaceOutcome>>> {
  let results: Array<Settled<ReplaceOutcome>>;
  try {
    results = (await commitTogether(p.db, items)).map((value) => ({ ok: true, value }));
  } catch (error) {
    if (items.length === 1) throw error;
    results = [];
    for (const item of items) results.push(await settle(commitOne(p.db, item)));
  }
  const [first] = items;
  if (first && results.some((r) => r.ok && r.value.status === 'replaced')) {
    const index = await p.indexes.synced(first.collection);
    await p.commits.announce(first.collection, index.seq); // other workers apply it now, not at their next search (?wait=true)
  }
  return results;
}

/** The items' documents replaced in one transaction; a document named twice is written in a later round of the same transaction. */
async function commitTogether(db: Knex, items: GroupedCommit[]): Promise<ReplaceOutcome[]> {
  const [first] = items;
  if (!first) return [];
  return logWriteTransaction(db, async (trx) => {
    const outcomes: ReplaceOutcome[] = items.map(() => ({ status: 'superseded' }));
    for (const round of distinctRounds(items.map((item) => item.document.documentId))) {
      const members = round.map((i) => items[i] as GroupedCommit);
      const staged = first.generations.staged && {
        generation: first.generations.staged.generation,
        embeddings: members.flatMap((m) => m.generations.staged?.embeddings ?? []),
      };
      const documents = members.map((m) => m.document);
      const got = await replaceChunksOfDocuments(trx, { collection: first.collection, generation: first.generations.generation, staged, documents });
      for (const [j, i] of round.entries()) {
        const outcome = got[j] ?? { status: 'superseded' };
        outcomes[i] = outcome;
        if (outcome.status === 'replaced') await members[j]?.onCommit(trx, outcome);
      }
    }
    return outcomes;
  });
}

async function commitOne(db: Knex, item: GroupedCommit): Promise<ReplaceOutcome> {
  const [outcome] = await commitTogether(db, [item]);
  if (outcome === undefined) throw new Error('commit gave no outcome');
  return outcome;
}
