/**
 * After a run's load has stopped and its faults have healed: waits (bounded) for every acknowledged
 * piece of work to finish, then compares the History with what the service says and stores
 * (RELIABILITY.md (b)). lost: an acknowledged document never ready or failed, or ready and not
 * searchable; a question without an answer; a removal whose targets are still there or searchable
 * after it succeeded. duplicated: chunk rows per (document, ordinal), assistant messages per
 * question, index labels, beyond one. wrong: GET /jobs or GET /documents saying something false.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { DocumentRecord, History, QuestionRecord, RemovalRecord } from './history.js';
import { searchIds } from './load.js';
import type { ChaosClient } from './http-client.js';

export interface Findings {
  lost: number;
  duplicated: number;
  wrong: number;
  failedDocuments: number; // failed with a reason: not lost, but listed
  details: string[];
}

const SETTLE_TIMEOUT_MS = 120_000;
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

interface DocumentView {
  status: string;
  revision: number;
  chunkCount: number;
  error: string | null;
}

type Kind = 'lost' | 'duplicated' | 'wrong';
type Note = (kind: Kind, detail: string) => void;

export async function checkHistory(client: ChaosClient, db: Knex, history: History, checked: Set<string>): Promise<Findings> {
  const findings: Findings = { lost: 0, duplicated: 0, wrong: 0, failedDocuments: 0, details: [] };
  const note = noter(findings);
  const docs = [...history.documents.values()].filter((doc) => !checked.has(doc.id));
  const removals = history.removals.filter((removal) => !checked.has(removal.jobId));
  const questions = history.questions.filter((question) => !checked.has(question.jobId));
  await settle(
    client,
    docs,
    removals.map((removal) => removal.jobId),
  );

  for (const doc of docs) await checkDocument(client, db, doc, findings, note);
  for (const removal of removals) await checkRemoval(client, removal, note);
  await checkQuestions(client, questions, note);
  await checkDuplicates(db, findings, note);
  if (history.duplicateJobIds > 0) note('wrong', `${history.duplicateJobIds} acknowledgements carried a job id of other work`);
  history.duplicateJobIds = 0;
  for (const doc of docs) checked.add(doc.id);
  for (const item of [...removals, ...questions]) checked.add(item.jobId);
  return findings;
}

/** Counts a finding of one kind, keeping the first 50 details. */
function noter(findings: Findings): Note {
  return (kind, detail) => {
    findings[kind] += 1;
    if (findings.details.length < 50) findings.details.push(`${kind}: ${detail}`);
  };
}

/** A removal target must be gone; any other document at its last acknowledged revision, final, findable, its chunks counted right, its ingest jobs final and agreeing. */
async function checkDocument(client: ChaosClient, db: Knex, doc: DocumentRecord, findings: Findings, note: Note): Promise<void> {
  const reply = await client.get(`/documents/${encodeURIComponent(doc.id)}`);
  if (doc.isRemovalTarget) {
    if (reply.status !== 404) note('lost', `removal target ${doc.id} still exists (${reply.status} ${reply.text.slice(0, 120)})`);
    return;
  }
  const last = doc.ingests[doc.ingests.length - 1];
  const view = reply.status === 200 ? (reply.body as DocumentView) : undefined;
  if (last === undefined) return;
  // A later revision is fine: a POST for this id that got a 503 still kept its row (and the sweep indexes it).
  if (view === undefined || view.revision < last.revision || (view.status !== 'ready' && view.status !== 'failed')) {
    note('lost', `document ${doc.id}@${last.revision} acknowledged, now ${view ? `${view.status}@${view.revision}` : String(reply.status)}`);
  } else if (view.status === 'failed') {
    findings.failedDocuments += 1;
    if (findings.details.length < 50) findings.details.push(`failed: ${doc.id}: ${view.error ?? 'no reason'}`);
  } else {
    await checkReadyDocument(client, db, doc, last.query, view, note);
  }
  await checkIngestJobs(client, doc, view, note);
}

/** A ready document: found by a search for its own words, never said ready before that, its chunk count the SQL one. */
async function checkReadyDocument(client: ChaosClient, db: Knex, doc: DocumentRecord, query: string, view: DocumentView, note: Note): Promise<void> {
  const hits = await searchIds(client, query);
  if (hits === undefined) note('wrong', `search for ${doc.id} never answered 200`);
  else if (!hits.includes(doc.id)) note('lost', `document ${doc.id} ready but not found by a search for its own words`);
  else if (doc.notSearchableWhenReady > 0) note('lost', `document ${doc.id} said ready before a search could find it`);
  const rows = await countChunks(db, doc.id);
  if (rows !== view.chunkCount) note('wrong', `document ${doc.id} says ${view.chunkCount} chunks, SQL has ${rows}`);
}

/** Every ingest job of a document final; the last one's status matching the document's when it is at that revision. */
async function checkIngestJobs(client: ChaosClient, doc: DocumentRecord, view: DocumentView | undefined, note: Note): Promise<void> {
  const last = doc.ingests[doc.ingests.length - 1];
  for (const ack of doc.ingests) {
    const job = (await client.get(`/jobs/ingest/${encodeURIComponent(ack.jobId)}`)).body as { status?: string } | null;
    const status = job?.status ?? 'missing';
    if (!FINAL.has(status)) note('wrong', `job ingest/${ack.jobId} still ${status}`);
    else if (ack === last && view?.revision === last.revision && status !== (view.status === 'ready' ? 'succeeded' : 'failed')) {
      note('wrong', `job ingest/${ack.jobId} says ${status}, document ${doc.id} is ${view.status}`);
    }
  }
}

/** A removal succeeded, counting all its targets, and none was shown or found after that. */
async function checkRemoval(client: ChaosClient, removal: RemovalRecord, note: Note): Promise<void> {
  const job = (await client.get(`/jobs/remove/${encodeURIComponent(removal.jobId)}`)).body as { status?: string; result?: { documents?: number } } | null;
  if (job?.status !== 'succeeded') note('lost', `removal ${removal.jobId} of ${removal.targets.join(',')} ended ${job?.status ?? 'missing'}`);
  else if (job.result?.documents !== removal.targets.length) {
    note('wrong', `removal ${removal.jobId} succeeded counting ${String(job.result?.documents)} of ${removal.targets.length} targets`);
  }
  if (removal.presentAfterSuccess > 0) note('lost', `removal ${removal.jobId}: ${removal.presentAfterSuccess} target(s) still shown after it succeeded`);
  if (removal.searchableAfterSuccess > 0) note('lost', `removal ${removal.jobId}: ${removal.searchableAfterSuccess} target(s) still found after it succeeded`);
}

/** Every question answered exactly once, its job final once the answer is stored. */
async function checkQuestions(client: ChaosClient, questions: QuestionRecord[], note: Note): Promise<void> {
  const replies = await replyCounts(client, new Set(questions.map((question) => question.sessionId)));
  for (const question of questions) {
    const count = replies.get(question.messageId) ?? 0;
    const job = (await client.get(`/jobs/answer/${encodeURIComponent(question.jobId)}`)).body as { status?: string } | null;
    if (count === 0) note('lost', `question ${question.messageId} never answered (job ${job?.status ?? 'missing'})`);
    if (count > 1) note('duplicated', `question ${question.messageId} answered ${count} times`);
    if (count > 0 && !FINAL.has(job?.status ?? '')) note('wrong', `job answer/${question.jobId} still ${job?.status ?? 'missing'} with its answer stored`);
  }
}

/** Chunk rows beyond one per (document, ordinal) and assistant messages beyond one per question, each extra one counted. */
async function checkDuplicates(db: Knex, findings: Findings, note: Note): Promise<void> {
  const chunkDuplicates = await duplicateChunkRows(db);
  if (chunkDuplicates > 0) note('duplicated', `${chunkDuplicates} chunk rows beyond one per (document, ordinal)`);
  findings.duplicated += Math.max(0, chunkDuplicates - 1);
  const answerDuplicates = await duplicateAnswers(db);
  if (answerDuplicates > 0) note('duplicated', `${answerDuplicates} assistant messages beyond one per question`);
  findings.duplicated += Math.max(0, answerDuplicates - 1);
}

/** Polls until every document is final (or gone, for removal targets) and every removal job is final. */
async function settle(client: ChaosClient, docs: DocumentRecord[], removalJobs: string[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let open = [...docs];
  let jobs = [...removalJobs];
  while ((open.length > 0 || jobs.length > 0) && Date.now() < deadline) {
    const stillOpen: DocumentRecord[] = [];
    for (const doc of open) {
      const reply = await client.get(`/documents/${encodeURIComponent(doc.id)}`);
      const view = reply.body as DocumentView | null;
      const last = doc.ingests[doc.ingests.length - 1];
      const isDone = doc.isRemovalTarget
        ? reply.status === 404
        : reply.status === 200 && (view?.revision ?? 0) >= (last?.revision ?? 0) && (view?.status === 'ready' || view?.status === 'failed');
      if (!isDone) stillOpen.push(doc);
    }
    const stillRunning: string[] = [];
    for (const id of jobs) {
      const job = (await client.get(`/jobs/remove/${encodeURIComponent(id)}`)).body as { status?: string } | null;
      if (!FINAL.has(job?.status ?? '')) stillRunning.push(id);
    }
    open = stillOpen;
    jobs = stillRunning;
    if (open.length > 0 || jobs.length > 0) await delay(500);
  }
}

async function replyCounts(client: ChaosClient, sessions: Set<string>): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const sessionId of sessions) {
    for (let after = 0, page = 0; page < 1_000; page++) {
      const reply = await client.get(`/chat/sessions/${encodeURIComponent(sessionId)}/messages?after=${after}`);
      const body = reply.body as { messages?: Array<{ id: number; replyTo: number | null }>; hasMore?: boolean } | null;
      const messages = body?.messages ?? [];
      for (const message of messages) if (message.replyTo !== null) counts.set(message.replyTo, (counts.get(message.replyTo) ?? 0) + 1);
      if (!body?.hasMore || messages.length === 0) break;
      after = messages[messages.length - 1]?.id ?? after;
    }
  }
  return counts;
}

async function countChunks(db: Knex, documentId: string): Promise<number> {
  const rows: Array<{ n: number | string }> = await db('chunks').where({ document_id: documentId }).count({ n: '*' });
  const [row] = rows;
  return Number(row?.n ?? 0);
}

async function duplicateChunkRows(db: Knex): Promise<number> {
  const rows: Array<{ n: number | string }> = await db('chunks')
    .select('document_id', 'ordinal')
    .count({ n: '*' })
    .groupBy('document_id', 'ordinal')
    .havingRaw('count(*) > 1');
  return rows.reduce((sum, row) => sum + Number(row.n) - 1, 0);
}

async function duplicateAnswers(db: Knex): Promise<number> {
  const rows: Array<{ n: number | string }> = await db('chat_messages')
    .whereNotNull('reply_to')
    .select('reply_to')
    .count({ n: '*' })
    .groupBy('reply_to')
    .havingRaw('count(*) > 1');
  return rows.reduce((sum, row) => sum + Number(row.n) - 1, 0);
}
