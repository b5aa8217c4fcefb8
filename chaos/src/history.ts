/**
 * What the clients were told (a Jepsen-style history): every acknowledged (202) ingest, removal and
 * question, with what a later observation saw. Acknowledged work must take effect. A write that got
 * a 503 or no reply promised nothing, but it may still take effect: the API stores a row before it
 * enqueues, and when the enqueue fails the sweep enqueues it later. So such a write is uncertain,
 * never acknowledged: a removal of it may count it, and a removal refused that way may still remove.
 * The checker compares this history with GET /documents, GET /jobs, searches, SQL and each worker's index.
 */
export interface IngestAck {
  documentId: string;
  revision: number;
  queue: 'ingest' | 'ingest-batch'; // POSTs that arrived together share an ingest-batch job
  jobId: string;
  seed: string; // this revision's own words are made from it; its metadata carries it as `seed`
}

export interface DocumentRecord {
  id: string;
  isRemovalTarget: boolean; // a removal was acknowledged after its last ingest: it must end absent
  mayBeRemoved: boolean; // a removal that got no 202 named it after its last ingest: it may end absent
  ingests: IngestAck[]; // in acknowledgement order; the last one is the revision that must end ready
  notSearchableWhenReady: number; // searches right after GET /documents said ready that missed it
}

export interface RemovalRecord {
  jobId: string;
  kind: 'id' | 'filter';
  targets: string[];
  uncertain: string[]; // documents it may also take: their POST got no 202 but may have stored them
  searchableAfterSuccess: number; // target hits in searches made right after GET /jobs said succeeded
  presentAfterSuccess: number; // targets GET /documents still showed then
}

export interface QuestionRecord {
  sessionId: string;
  messageId: number;
  jobId: string;
}

export class History {
  readonly documents = new Map<string, DocumentRecord>();
  readonly removals: RemovalRecord[] = [];
  readonly questions: QuestionRecord[] = [];
  readonly jobIds = new Map<string, string>(); // `${queue}/${id}` → what it was acknowledged for
  duplicateJobIds = 0; // an acknowledgement carrying a job id already given to other work

  get documentAcks(): number {
    let n = 0;
    for (const doc of this.documents.values()) n += doc.ingests.length;
    return n;
  }

  ingested(ack: IngestAck): DocumentRecord {
    // A batch job is shared by the documents written with it, never by two revisions of one document.
    if (ack.queue === 'ingest-batch') this.noteJobId(ack.queue, `${ack.jobId}/${ack.documentId}`, String(ack.revision));
    else this.noteJobId(ack.queue, ack.jobId, `${ack.documentId}@${ack.revision}`);
    const doc = this.documents.get(ack.documentId) ?? {
      id: ack.documentId,
      isRemovalTarget: false,
      mayBeRemoved: false,
      ingests: [],
      notSearchableWhenReady: 0,
    };
    doc.ingests.push(ack);
    doc.isRemovalTarget = false; // posted again after a removal: it must exist (a removal takes the revisions it saw)
    doc.mayBeRemoved = false;
    this.documents.set(doc.id, doc);
    return doc;
  }

  removalAcknowledged(record: RemovalRecord): void {
    this.noteJobId('remove', record.jobId, `remove ${record.targets.join(',')}`);
    for (const id of record.targets) {
      const doc = this.documents.get(id);
      if (doc) doc.isRemovalTarget = true;
    }
    this.removals.push(record);
  }

  /** A removal of these documents got a 503 or no reply: it may still remove them (its targets were recorded before the enqueue). */
  removalUncertain(ids: readonly string[]): void {
    for (const id of ids) {
      const doc = this.documents.get(id);
      if (doc) doc.mayBeRemoved = true;
    }
  }

  asked(record: QuestionRecord): void {
    this.noteJobId('answer', record.jobId, `answer ${record.messageId}`);
    this.questions.push(record);
  }

  private noteJobId(queue: string, id: string, work: string): void {
    const key = `${queue}/${id}`;
    const earlier = this.jobIds.get(key);
    if (earlier !== undefined && earlier !== work) this.duplicateJobIds += 1;
    this.jobIds.set(key, work);
  }
}
