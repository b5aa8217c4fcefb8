/**
 * The mixed client load a fault lands in: parallel clients that ingest documents (some many chunks
 * long, some posted twice so the second revision replaces the first), remove them by id or by a
 * filter, and ask questions (chat, extractive answerer). Each acknowledged piece of work is
 * recorded in the History and then watched: a document GET /documents calls ready is searched for
 * at once, and a removal GET /jobs calls succeeded has its targets searched for at once, since the
 * README promises both "from then on, through any worker" (document-search.ts). A write answered
 * without a 202 is recorded as uncertain (history.ts). Every wait is bounded.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ChaosClient, Reply } from './http-client.js';
import type { DocumentRecord, History, IngestAck, RemovalRecord } from './history.js';
import type { Random } from './random.js';
import { documentText, searchOwnWords, sidesFinding, sidesMissing } from './document-search.js';

const WATCH_TIMEOUT_MS = 30_000; // during the load; the checker waits longer before it calls anything lost
const POLL_MS = 200;
const REFUSED_PAUSE_MS = 150; // after a 503 or no reply: a client backing off, not a hot loop

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

  /** POST /documents; the acknowledgement is recorded, or when there was none, whether the document may still have been stored. */
  private async post(id: string, metadata: Record<string, unknown>): Promise<PostOutcome> {
    const seed = this.nextSeed();
    const chunks = this.random.next() < this.options.multiChunkShare ? this.random.int(10, 40) : 1;
    const reply = await this.client.post('/documents', { id, text: documentText(seed, chunks * 170), metadata: { run: this.tag, seed, ...metadata } });
    if (reply.status !== 202) {
      await this.refused(reply);
      return { doc: undefined, isUncertain: isUncertain(reply) };
    }
    const body = reply.body as { document: { revision: number }; job: { queue: IngestAck['queue']; id: string } };
    const ack: IngestAck = { documentId: id, revision: body.document.revision, queue: body.job.queue, jobId: body.job.id, seed };
    return { doc: this.history.ingested(ack), ack };
  }

  private async ingestOne(): Promise<void> {
    const posted = await this.post(this.nextSeed(), {});
    if (posted.doc) await this.watchReady(posted.doc, posted.ack);
  }

  private async replaceOne(): Promise<void> {
    const id = this.nextSeed();
    const first = await this.post(id, {});
    if (!first.doc) return;
    if (this.random.next() < 0.5) await this.watchReady(first.doc, first.ack);
    const second = await this.post(id, {});
    if (second.doc) await this.watchReady(second.doc, second.ack);
  }

  private async removeById(): Promise<void> {
    const posted = await this.post(this.nextSeed(), {});
    if (!posted.doc) return;
    if (this.random.next() < 0.5) await this.watchReady(posted.doc, posted.ack);
    const reply = await this.client.delete(`/documents/${encodeURIComponent(posted.doc.id)}`);
    if (reply.status !== 202) {
      if (isUncertain(reply)) this.history.removalUncertain([posted.doc.id]);
      return this.refused(reply);
    }
    const record: RemovalRecord = {
      jobId: jobIdOf(reply),
      kind: 'id',
      targets: [posted.doc.id],
      uncertain: [],
      searchableAfterSuccess: 0,
      presentAfterSuccess: 0,
    };
    await this.watchRemoval(record, [posted.ack]);
  }

  private async removeByFilter(): Promise<void> {
    const batch = this.nextSeed();
    const acks: IngestAck[] = [];
    const uncertain: string[] = []; // posted without a 202: maybe stored, then matched by the filter
    for (let i = 0; i < 3; i++) {
      const id = this.nextSeed();
      const posted = await this.post(id, { batch });
      if (posted.doc) acks.push(posted.ack);
      else if (posted.isUncertain) uncertain.push(id);
    }
    if (acks.length === 0) return;
    const targets = acks.map((ack) => ack.documentId);
    const reply = await this.client.post('/documents/delete', { where: { batch } });
    if (reply.status !== 202) {
      if (isUncertain(reply)) this.history.removalUncertain(targets);
      return this.refused(reply);
    }
    await this.watchRemoval({ jobId: jobIdOf(reply), kind: 'filter', targets, uncertain, searchableAfterSuccess: 0, presentAfterSuccess: 0 }, acks);
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
    const hits = await searchOwnWords(this.client, ack.seed);
    if (hits !== undefined && sidesMissing(hits, doc.id).length > 0) doc.notSearchableWhenReady += 1;
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
      if ((await this.definiteGet(`/documents/${encodeURIComponent(ack.documentId)}`)).status !== 404) record.presentAfterSuccess += 1;
      const hits = await searchOwnWords(this.client, ack.seed);
      if (hits !== undefined && sidesFinding(hits, ack.documentId).length > 0) record.searchableAfterSuccess += 1;
    }
  }

  /** A GET answered by the service itself: one that got a 503 or no answer (an outage) is sent again, within WATCH_TIMEOUT_MS. */
  private async definiteGet(url: string): Promise<Reply> {
    let reply = await this.client.get(url);
    await this.waitUntil(async () => {
      if (!isUncertain(reply)) return true;
      reply = await this.client.get(url);
      return !isUncertain(reply);
    });
    return reply;
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

type PostOutcome = { doc: DocumentRecord; ack: IngestAck } | { doc: undefined; isUncertain: boolean };

/** A write answered 5xx or not at all may still take effect (the row is stored before the enqueue); a 4xx refused it. */
function isUncertain(reply: Reply): boolean {
  return reply.status === 0 || reply.status >= 500;
}

function jobIdOf(reply: Reply): string {
  return (reply.body as { job: { id: string } }).job.id;
}
