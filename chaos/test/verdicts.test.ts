/**
 * The chaos checker's judgements (chaos/src/verdicts.ts, document-search.ts) on histories built by
 * hand: what counts as lost, what an uncertain write (answered without a 202) allows, and how many
 * documents a removal may count.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentText, queryFor, seedOfText, sidesFinding, sidesMissing } from '../src/document-search.js';
import { History, type RemovalRecord } from '../src/history.js';
import { judgeDocument, removalCountError, type DocumentView } from '../src/verdicts.js';

const ready = (revision: number): DocumentView => ({ status: 'ready', revision, chunkCount: 1, error: null });

function historyWith(id: string, revisions: number[]): History {
  const history = new History();
  for (const revision of revisions)
    history.ingested({ documentId: id, revision, queue: 'ingest', jobId: `ingest:${id}:${revision}`, seed: `${id}s${revision}` });
  return history;
}

function removal(targets: string[], uncertain: string[] = []): RemovalRecord {
  return { jobId: 'remove:1', kind: 'filter', targets, uncertain, searchableAfterSuccess: 0, presentAfterSuccess: 0 };
}

describe('judgeDocument', () => {
  it('calls an acknowledged document that is now 404 lost', () => {
    const doc = historyWith('a', [1]).documents.get('a');
    assert.ok(doc);
    assert.deepEqual(judgeDocument(doc, 404, undefined), { kind: 'lost', detail: 'document a@1 acknowledged, now 404' });
  });

  it('accepts a 404 when a removal of it got a 503, and a ready document just as well', () => {
    const history = historyWith('a', [1]);
    history.removalUncertain(['a']);
    const doc = history.documents.get('a');
    assert.ok(doc);
    assert.deepEqual(judgeDocument(doc, 404, undefined), { kind: 'absent' });
    assert.deepEqual(judgeDocument(doc, 200, ready(1)), { kind: 'ready', isAcknowledgedRevision: true });
  });

  it('forgets an uncertain removal once the document is posted again and acknowledged', () => {
    const history = historyWith('a', [1]);
    history.removalUncertain(['a']);
    history.ingested({ documentId: 'a', revision: 2, queue: 'ingest', jobId: 'ingest:a:2', seed: 'as2' });
    const doc = history.documents.get('a');
    assert.ok(doc);
    assert.equal(judgeDocument(doc, 404, undefined).kind, 'lost');
  });

  it('counts a shared ingest-batch job as one job for its documents, but not for two revisions of one document', () => {
    const history = new History();
    history.ingested({ documentId: 'a', revision: 1, queue: 'ingest-batch', jobId: 'ingest-batch:g', seed: 'as1' });
    history.ingested({ documentId: 'b', revision: 1, queue: 'ingest-batch', jobId: 'ingest-batch:g', seed: 'bs1' });
    assert.equal(history.duplicateJobIds, 0);
    history.ingested({ documentId: 'a', revision: 2, queue: 'ingest-batch', jobId: 'ingest-batch:g', seed: 'as2' });
    assert.equal(history.duplicateJobIds, 1);
  });

  it('requires an acknowledged removal target to be gone', () => {
    const history = historyWith('a', [1]);
    history.removalAcknowledged(removal(['a']));
    const doc = history.documents.get('a');
    assert.ok(doc);
    assert.deepEqual(judgeDocument(doc, 404, undefined), { kind: 'absent' });
    assert.equal(judgeDocument(doc, 200, ready(1)).kind, 'lost');
  });

  it('accepts a later revision (a POST answered 503 that stored its row) but not an earlier or unfinished one', () => {
    const doc = historyWith('a', [1, 2]).documents.get('a');
    assert.ok(doc);
    assert.deepEqual(judgeDocument(doc, 200, ready(3)), { kind: 'ready', isAcknowledgedRevision: false });
    assert.equal(judgeDocument(doc, 200, ready(1)).kind, 'lost');
    assert.equal(judgeDocument(doc, 200, { ...ready(2), status: 'indexing' }).kind, 'lost');
    assert.deepEqual(judgeDocument(doc, 200, { ...ready(2), status: 'failed', error: 'too_many_chunks' }), { kind: 'failed' });
  });
});

describe('removalCountError', () => {
  it('wants every acknowledged target counted', () => {
    assert.equal(removalCountError(removal(['a', 'b']), 2), undefined);
    assert.equal(removalCountError(removal(['a', 'b']), 1), 'removal remove:1 succeeded counting 1 of 2 targets');
    assert.equal(removalCountError(removal(['a', 'b']), 3), 'removal remove:1 succeeded counting 3 of 2 targets');
    assert.equal(removalCountError(removal(['a']), undefined), 'removal remove:1 succeeded counting undefined of 1 targets');
  });

  it('allows the documents whose POST got no 202 to be counted too, and no more', () => {
    assert.equal(removalCountError(removal(['a'], ['b', 'c']), 1), undefined);
    assert.equal(removalCountError(removal(['a'], ['b', 'c']), 3), undefined);
    assert.equal(removalCountError(removal(['a'], ['b', 'c']), 4), 'removal remove:1 succeeded counting 4 of 1–3 targets');
  });
});

describe('document search helpers', () => {
  it('reads the seed back from a text made from it, whatever its length', () => {
    assert.equal(seedOfText(documentText('kill9loadpr1x78', 170)), 'kill9loadpr1x78');
    assert.equal(seedOfText(documentText('kill9loadpr1x78', 6_000)), 'kill9loadpr1x78');
    assert.equal(seedOfText('some other text'), undefined);
    assert.ok(
      queryFor('s1')
        .split(' ')
        .every((word) => documentText('s1', 170).includes(word)),
    );
  });

  it('names the sides that miss a document and the sides that find it', () => {
    const hits = { vector: ['a', 'b'], lexical: ['b'] };
    assert.deepEqual(sidesMissing(hits, 'a'), ['lexical']);
    assert.deepEqual(sidesMissing(hits, 'b'), []);
    assert.deepEqual(sidesFinding(hits, 'a'), ['vector']);
    assert.deepEqual(sidesFinding(hits, 'c'), []);
  });
});
