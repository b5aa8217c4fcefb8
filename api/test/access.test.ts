/**
 * Roles and scopes (access.ts) and what a key over some collections sees of a worker's heartbeat and
 * of the per-collection metrics: pure functions, no I/O.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Heartbeat } from '../../shared/src/heartbeats.js';
import { ALL_COLLECTIONS, canSeeCollection, OPEN_ACCESS, principalFromScope, reachesAllCollections, roleAllows, ROLES } from '../src/http/access.js';
import { renderCollectionMetrics } from '../src/http/collection-metrics.js';
import { scopedHeartbeat } from '../src/http/scoped-heartbeat.js';

const beat: Heartbeat = {
  id: 'worker-1',
  pid: 1,
  host: 'h',
  startedAt: '2026-01-01T00:00:00.000Z',
  lastSeen: 0,
  indexSize: 5,
  appliedSeq: 9,
  checkpointSeq: 9,
  embedder: 'builtin-hash-v1:384',
  status: 'ready',
  lastSyncMs: 0.1,
  collections: {
    default: { size: 5, appliedSeq: 9, checkpointSeq: 9, lastSyncMs: 0.1 },
    a: { size: 2, appliedSeq: 7, checkpointSeq: 0, lastSyncMs: 0.1 },
    b: { size: 3, appliedSeq: 12, checkpointSeq: 0, lastSyncMs: 0.1 },
  },
  jobs: {},
};

describe('roles', () => {
  it('orders read < write < admin', () => {
    assert.deepEqual(ROLES, ['read', 'write', 'admin']);
    const allowed = ROLES.map((role) => ROLES.filter((needed) => roleAllows(role, needed)));
    assert.deepEqual(allowed, [['read'], ['read', 'write'], ['read', 'write', 'admin']]);
  });

  it('reads ["*"] as every collection and a list as only those', () => {
    const all = principalFromScope('k1', 'read', [ALL_COLLECTIONS]);
    const some = principalFromScope('k2', 'admin', ['a']);
    assert.ok(reachesAllCollections(all) && canSeeCollection(all, 'created-later'));
    assert.ok(!reachesAllCollections(some) && canSeeCollection(some, 'a') && !canSeeCollection(some, 'b') && !canSeeCollection(some, 'default'));
    assert.ok(reachesAllCollections(OPEN_ACCESS) && OPEN_ACCESS.role === 'admin');
  });
});

describe('a key over some collections', () => {
  it('sees only its collections in a heartbeat, no job counts, and zeros for a default it cannot see', () => {
    const seen = scopedHeartbeat(beat, principalFromScope('k', 'read', ['a']));
    assert.deepEqual(Object.keys(seen.collections ?? {}), ['a']);
    assert.equal(seen.jobs, undefined);
    assert.deepEqual([seen.indexSize, seen.appliedSeq, seen.checkpointSeq, seen.lastSyncMs], [0, 0, 0, undefined]);
    const withDefault = scopedHeartbeat(beat, principalFromScope('k', 'read', ['default', 'b']));
    assert.deepEqual(Object.keys(withDefault.collections ?? {}), ['default', 'b']);
    assert.equal(withDefault.indexSize, 5);
    assert.equal(scopedHeartbeat(beat, OPEN_ACCESS), beat);
  });

  it('gets per-collection series of its collections only, with the seq lag per worker', () => {
    const stats = [
      { collection: 'a', documents: 1, chunks: 2, latestSeq: 8 },
      { collection: 'b', documents: 3, chunks: 3, latestSeq: 12 },
    ];
    const text = renderCollectionMetrics(stats, [beat], (c) => c === 'a');
    assert.match(text, /^colmeia_collection_documents\{collection="a"\} 1$/m);
    assert.match(text, /^colmeia_collection_index_size\{collection="a",worker="worker-1"\} 2$/m);
    assert.match(text, /^colmeia_collection_seq_lag\{collection="a",worker="worker-1"\} 1$/m);
    assert.doesNotMatch(text, /collection="b"/);
    assert.match(
      renderCollectionMetrics(stats, [beat], () => true),
      /^colmeia_collection_seq_lag\{collection="b",worker="worker-1"\} 0$/m,
    );
  });
});
