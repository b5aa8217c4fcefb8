/**
 * After a run's load has stopped and its faults have healed: waits (bounded) for every acknowledged
 * piece of work to finish, then compares the History with what the service says and stores
 * (RELIABILITY.md (b)). lost: an acknowledged document never ready or failed, or ready and not
 * found by its own words (document-search.ts); a question without an answer; a removal whose
 * targets are still there or searchable after it succeeded. duplicated: chunk rows per (document,
 * ordinal), assistant messages per question, index labels, beyond one. wrong: GET /jobs or GET
 * /documents saying something false. The judgements themselves are in verdicts.ts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Knex } from 'knex';
import { z } from 'zod';
import { DEFAULT_COLLECTION } from '../../shared/src/input.js';
import { searchOwnWords, seedOfText, sidesMissing } from './document-search.js';
import type { DocumentRecord, History, IngestAck, QuestionRecord, RemovalRecord } from './history.js';
import type { ChaosClient } from './http-client.js';
import { judgeDocument, removalCountError, type DocumentView } from './verdicts.js';

export interface Findings {
  lost: number;
  duplicated: number;
  wrong: number;
  failedDocuments: number; // failed with a reason: not lost, but listed
  details: string[];
}

const SETTLE_TIMEOUT_MS = 120_000;
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

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

/** A removal target must be gone; any other document at its last acknowledged revision (or a later one), final, findable, its chunks counted right, its ingest jobs final and agreeing. */
async function checkDocument(client: ChaosClient, db: Knex, doc: DocumentRecord, findings: Findings, note: Note): Promise<void> {
  const reply = await client.get(`/documents/${encodeURIComponent(doc.id)}`);
  const view = reply.status === 200 ? (reply.body as DocumentView) : undefined;
  const verdict = judgeDocument(doc, reply.status, view);
  const last = doc.ingests[doc.ingests.length - 1];
  if (verdict.kind === 'absent' || last === undefined) return;
  if (verdict.kind === 'lost') note('lost', verdict.detail);
  else if (verdict.kind === 'failed') {
    findings.failedDocuments += 1;
    if (findings.details.length < 50) findings.details.push(`failed: ${doc.id}: ${view?.error ?? 'no reason'}`);
  } else if (view !== undefined) {
    await checkReadyDocument(client, db, doc, verdict.isAcknowledgedRevision ? last : undefined, view, note);
  }
  await checkIngestJobs(client, doc, view, note);
}

/**
 * A ready document: found by its own words on both sides, never said ready before that, its chunk
 * count the SQL one. `ack` is its revision's acknowledgement; undefined when a later revision whose
 * POST got no 202 holds it, whose words are then read from its stored text.
 */
async function checkReadyDocument(
  client: ChaosClient,
  db: Knex,
  doc: DocumentRecord,
  ack: IngestAck | undefined,
  view: DocumentView,
  note: Note,
): Promise<void> {
  const seed = ack?.seed ?? seedOfText(await documentContent(db, doc.id));
  const hits = seed === undefined ? undefined : await searchOwnWords(client, seed);
  const missing = hits === undefined ? [] : sidesMissing(hits, doc.id);
  if (missing.length > 0 && doc.mayBeRemoved && (await client.get(`/documents/${encodeURIComponent(doc.id)}`)).status === 404) return; // the uncertain removal landed meanwhile
  if (seed === undefined) note('wrong', `document ${doc.id}@${view.revision} holds a text no client posted`);
  else if (hits === undefined) note('wrong', `search for ${doc.id} never answered 200`);
  else if (missing.length > 0)
    note('lost', `document ${doc.id}@${view.revision} ready but its own words do not find it (${missing.join(' and ')} search within its seed)`);
  else if (doc.notSearchableWhenReady > 0) note('lost', `document ${doc.id} said ready before a search could find it`);
  const rows = await countChunks(db, doc.id);
  if (rows !== view.chunkCount) note('wrong', `document ${doc.id} says ${view.chunkCount} chunks, SQL has ${rows}`);
}

/** Every ingest job of a document final; the last one's status matching the document's when it is at that revision. */
async function checkIngestJobs(client: ChaosClient, doc: DocumentRecord, view: DocumentView | undefined, note: Note): Promise<void> {
  const last = doc.ingests[doc.ingests.length - 1];
  for (const ack of doc.ingests) {
    const { name, status } = await documentJobStatus(client, ack);
    if (!FINAL.has(status)) note('wrong', `job ${name} still ${status}`);
    else if (ack === last && view?.revision === last.revision && status !== (view.status === 'ready' ? 'succeeded' : 'failed')) {
      note('wrong', `job ${name} says ${status}, document ${doc.id} is ${view.status}`);
    }
  }
}

const BatchResult = z.object({
  documents: z.array(z.object({ documentId: z.string(), status: z.string(), job: z.object({ id: z.string() }).optional() })),
});

/**
 * The status of the job that did this revision's work, as a single ingest job would report it: an
 * ingest-batch job's own item for the document (failed alone, or handed to its own ingest job when
 * the batch was retried), else the job's status.
 */
async function documentJobStatus(client: ChaosClient, ack: IngestAck): Promise<{ name: string; status: string }> {
  const name = `${ack.queue}/${ack.jobId}`;
  const job = (await client.get(`/jobs/${ack.queue}/${encodeURIComponent(ack.jobId)}`)).body as { status?: string; result?: unknown } | null;
  const status = job?.status ?? 'missing';
  if (ack.queue !== 'ingest-batch' || status !== 'succeeded') return { name, status };
  const item = BatchResult.safeParse(job?.result).data?.documents.find((d) => d.documentId === ack.documentId);
  if (item?.status === 'failed') return { name, status: 'failed' };
  if (item?.status === 'requeued' && item.job) return documentJobStatus(client, { ...ack, queue: 'ingest', jobId: item.job.id });
  return { name, status };
}

/** A removal succeeded, counting all its targets (and maybe documents whose POST got no 202), and none was shown or found after that. */
async function checkRemoval(client: ChaosClient, removal: RemovalRecord, note: Note): Promise<void> {
  const job = (await client.get(`/jobs/remove/${encodeURIComponent(removal.jobId)}`)).body as { status?: string; result?: { documents?: number } } | null;
  const countError = job?.status === 'succeeded' ? removalCountError(removal, job.result?.documents) : undefined;
  if (job?.status !== 'succeeded') note('lost', `removal ${removal.jobId} of ${removal.targets.join(',')} ended ${job?.status ?? 'missing'}`);
  else if (countError !== undefined) note('wrong', countError);
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

/**
 * Polls until every document is final (or gone, for removal targets and where an uncertain removal
 * may have taken it), every removal job is final, and so is every ingest job: an earlier revision's
 * job whose worker was killed may still wait for its re-delivery after the document is ready.
 */
async function settle(client: ChaosClient, docs: DocumentRecord[], removalJobs: string[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let open = [...docs];
  let jobs = [...removalJobs];
  let ingests = docs.flatMap((doc) => doc.ingests);
  while ((open.length > 0 || jobs.length > 0 || ingests.length > 0) && Date.now() < deadline) {
    const stillOpen: DocumentRecord[] = [];
    for (const doc of open) {
      const reply = await client.get(`/documents/${encodeURIComponent(doc.id)}`);
      const view = reply.status === 200 ? (reply.body as DocumentView) : undefined;
      if (judgeDocument(doc, reply.status, view).kind === 'lost') stillOpen.push(doc);
    }
    const stillRunning: string[] = [];
    for (const id of jobs) {
      const job = (await client.get(`/jobs/remove/${encodeURIComponent(id)}`)).body as { status?: string } | null;
      if (!FINAL.has(job?.status ?? '')) stillRunning.push(id);
    }
    const stillIngesting: IngestAck[] = [];
    for (const ack of ingests) if (!FINAL.has((await documentJobStatus(client, ack)).status)) stillIngesting.push(ack);
    open = stillOpen;
    jobs = stillRunning;
    ingests = stillIngesting;
    if (open.length > 0 || jobs.length > 0 || ingests.length > 0) await delay(500);
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

async function documentContent(db: Knex, documentId: string): Promise<string> {
  const row = (await db('documents').select('content').where({ collection_id: DEFAULT_COLLECTION, id: documentId }).first()) as { content: string } | undefined;
  return row?.content ?? '';
}

async function countChunks(db: Knex, documentId: string): Promise<number> {
  const rows: Array<{ n: number | string }> = await db('chunks').where({ collection_id: DEFAULT_COLLECTION, document_id: documentId }).count({ n: '*' });
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
