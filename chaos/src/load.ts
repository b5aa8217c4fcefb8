/**
 * The mixed client load a fault lands in: parallel clients that ingest documents (some many chunks
 * long, some posted twice so the second revision replaces the first), remove them by id or by a
 * filter, and ask questions (chat, extractive answerer). Each acknowledged piece of work is
 * recorded in the History and then watched: a document GET /documents calls ready is searched for
 * at once, and a removal GET /jobs calls succeeded has its targets searched for at once, since the
 * README promises both "from then on, through any worker". Every wait is bounded.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ChaosClient, Reply } from './http-client.js';
import type { DocumentRecord, History, IngestAck, RemovalRecord } from './history.js';
import type { Random } from './random.js';

const WATCH_TIMEOUT_MS = 30_000; // during the load; the checker waits longer before it calls anything lost
const POLL_MS = 200;
const REFUSED_PAUSE_MS = 150; // after a 503 or no reply: a client backing off, not a hot loop
export const SEARCH_K = 10;

export interface LoadOptions {
  clients: number;
  multiChunkShare: number; // share of ingests that are 10–40 chunks long
}

export class Load {
  private count = 0;
  private isStopped = false;
  private sessionId: string | undefined;
  private readonly running: Array<Promise<void>> = [];

  constructor(
    private readonly client: ChaosClient,
    private readonly history: History,
    private readonly random: Random,
    private readonly tag: string, // unique per run: ids and words of this run's documents
    private readonly options: LoadOptions,
  ) {}

  start(): void {
    for (let i = 0; i < this.options.clients; i++) this.running.push(this.loop());
  }

  /** Stops starting work and waits for the clients to finish what they started (bounded by their watches). */
  async stop(): Promise<void> {
    this.isStopped = true;
    await Promise.all(this.running);
  }

  private async loop(): Promise<void> {
    while (!this.isStopped) {
      const roll = this.random.next();
      if (roll < 0.45) await this.ingestOne();
      else if (roll < 0.55) await this.replaceOne();
      else if (roll < 0.7) await this.removeById();
      else if (roll < 0.8) await this.removeByFilter();
      else await this.askOne();
    }
  }

  private nextSeed(): string {
    this.count += 1;
    return `${this.tag}x${this.count}`;
  }

  /** POST /documents; the acknowledgement is recorded, or undefined when there was none. */
  private async post(id: string, metadata: Record<string, unknown>): Promise<{ doc: DocumentRecord; ack: IngestAck } | undefined> {
    const seed = this.nextSeed();
    const chunks = this.random.next() < this.options.multiChunkShare ? this.random.int(10, 40) : 1;
    const reply = await this.client.post('/documents', { id, text: documentText(seed, chunks * 170), metadata: { run: this.tag, ...metadata } });
    if (reply.status !== 202) return this.refused(reply);
    const body = reply.body as { document: { revision: number }; job: { id: string } };
    const ack: IngestAck = { documentId: id, revision: body.document.revision, jobId: body.job.id, query: queryFor(seed) };
    return { doc: this.history.ingested(ack), ack };
  }

  private async ingestOne(): Promise<void> {
    const posted = await this.post(this.nextSeed(), {});
    if (posted) await this.watchReady(posted.doc, posted.ack);
  }

  private async replaceOne(): Promise<void> {
    const id = this.nextSeed();
    const first = await this.post(id, {});
    if (!first) return;
    if (this.random.next() < 0.5) await this.watchReady(first.doc, first.ack);
    const second = await this.post(id, {});
    if (second) await this.watchReady(second.doc, second.ack);
  }

  private async removeById(): Promise<void> {
    const posted = await this.post(this.nextSeed(), {});
    if (!posted) return;
    if (this.random.next() < 0.5) await this.watchReady(posted.doc, posted.ack);
    const reply = await this.client.delete(`/documents/${encodeURIComponent(posted.doc.id)}`);
    if (reply.status !== 202) return this.refused(reply);
    await this.watchRemoval({ jobId: jobIdOf(reply), kind: 'id', targets: [posted.doc.id], searchableAfterSuccess: 0, presentAfterSuccess: 0 }, [posted.ack]);
  }

  private async removeByFilter(): Promise<void> {
    const batch = this.nextSeed();
    const acks: IngestAck[] = [];
    for (let i = 0; i < 3; i++) {
      const posted = await this.post(this.nextSeed(), { batch });
      if (posted) acks.push(posted.ack);
    }
    if (acks.length === 0) return;
    const reply = await this.client.post('/documents/delete', { where: { batch } });
    if (reply.status !== 202) return this.refused(reply);
    const targets = acks.map((ack) => ack.documentId);
    await this.watchRemoval({ jobId: jobIdOf(reply), kind: 'filter', targets, searchableAfterSuccess: 0, presentAfterSuccess: 0 }, acks);
  }

  private async askOne(): Promise<void> {
    if (this.sessionId === undefined) {
      const reply = await this.client.post('/chat/sessions', { id: `${this.tag}-session` });
      if (reply.status === 201 || reply.status === 409) this.sessionId = `${this.tag}-session`;
      else return this.refused(reply);
    }
    const sessionId = this.sessionId;
    const reply = await this.client.post(`/chat/sessions/${sessionId}/messages`, {
      content: `What do the notes say about ${this.tag}x${this.random.int(1, this.count)}?`,
    });
    if (reply.status !== 202) return this.refused(reply);
    const body = reply.body as { message: { id: number }; job: { id: string } };
    this.history.asked({ sessionId, messageId: body.message.id, jobId: body.job.id });
    await this.waitUntil(async () => {
      const messages = await this.client.get(`/chat/sessions/${sessionId}/messages?after=${body.message.id}`);
      const list = (messages.body as { messages?: Array<{ replyTo: number | null }> } | null)?.messages ?? [];
      return list.some((message) => message.replyTo === body.message.id);
    });
  }

  /** Polls GET /documents/:id until this revision is ready (then searches for it at once) or failed. */
  private async watchReady(doc: DocumentRecord, ack: IngestAck): Promise<void> {
    let isReady = false;
    await this.waitUntil(async () => {
      const reply = await this.client.get(`/documents/${encodeURIComponent(doc.id)}`);
      if (reply.status === 404) return true; // removed meanwhile: the checker judges it
      const view = reply.body as { status?: string; revision?: number } | null;
      if (view?.revision !== ack.revision) return view?.revision !== undefined && view.revision > ack.revision;
      isReady = view.status === 'ready';
      return isReady || view.status === 'failed';
    });
    if (!isReady || doc.ingests[doc.ingests.length - 1] !== ack) return;
    const hits = await searchIds(this.client, ack.query);
    if (hits !== undefined && !hits.includes(doc.id)) doc.notSearchableWhenReady += 1;
  }

  /** Polls GET /jobs/remove/:id until it is final; once succeeded, no target may be found or shown. */
  private async watchRemoval(record: RemovalRecord, acks: IngestAck[]): Promise<void> {
    this.history.removalAcknowledged(record);
    let status: string | undefined;
    await this.waitUntil(async () => {
      status = ((await this.client.get(`/jobs/remove/${encodeURIComponent(record.jobId)}`)).body as { status?: string } | null)?.status;
      return status === 'succeeded' || status === 'failed';
    });
    if (status !== 'succeeded') return;
    for (const ack of acks) {
      if ((await this.client.get(`/documents/${encodeURIComponent(ack.documentId)}`)).status !== 404) record.presentAfterSuccess += 1;
      const hits = await searchIds(this.client, ack.query);
      if (hits?.includes(ack.documentId)) record.searchableAfterSuccess += 1;
    }
  }

  private async waitUntil(predicate: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + WATCH_TIMEOUT_MS;
    while (!(await predicate())) {
      if (Date.now() >= deadline) return; // the checker decides; the client moves on
      await delay(POLL_MS);
    }
  }

  private async refused(reply: Reply): Promise<undefined> {
    if (reply.status === 0 || reply.status >= 500) await delay(REFUSED_PAUSE_MS);
    return undefined;
  }
}

/** The ids of POST /search's hits, retried through 503/504/no reply a few times; undefined if it never answered. */
export async function searchIds(client: ChaosClient, query: string): Promise<string[] | undefined> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const reply = await client.post('/search', { query, k: SEARCH_K });
    if (reply.status === 200) return ((reply.body as { results: Array<{ documentId: string }> }).results ?? []).map((hit) => hit.documentId);
    await delay(300);
  }
  return undefined;
}

/** Words that only this seed's text has (the first chunk holds them), plus common filler. */
export function documentText(seed: string, chars: number): string {
  const words: string[] = [];
  let length = 0;
  for (let i = 0; length < chars; i++) {
    const word = `${seed}q${i % 89} ${FILLER[i % FILLER.length] ?? ''}`;
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ');
}

export function queryFor(seed: string): string {
  return Array.from({ length: 6 }, (_, i) => `${seed}q${i}`).join(' ');
}

const FILLER = ['hive', 'honey', 'comb', 'queen', 'drone', 'nectar', 'pollen', 'swarm', 'wax', 'brood', 'frame', 'smoke'];

function jobIdOf(reply: Reply): string {
  return (reply.body as { job: { id: string } }).job.id;
}
