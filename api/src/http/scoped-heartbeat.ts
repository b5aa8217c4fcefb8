/**
 * A worker's heartbeat as a key with a collection scope may see it (GET /status): the indexes of its
 * collections only, no job counts (they span collections), and the default collection's numbers at
 * the top zeroed when default is outside the scope. A key over every collection sees it whole.
 */
import type { Heartbeat } from '../../../shared/src/heartbeats.js';
import { DEFAULT_COLLECTION } from '../../../shared/src/input.js';
import { canSeeCollection, reachesAllCollections, type Principal } from './access.js';

export function scopedHeartbeat(beat: Heartbeat, principal: Principal): Heartbeat {
  if (reachesAllCollections(principal)) return beat;
  const { jobs: _jobs, lastSyncMs, collections, ...rest } = beat;
  const visible = Object.fromEntries(Object.entries(collections ?? {}).filter(([id]) => canSeeCollection(principal, id)));
  if (canSeeCollection(principal, DEFAULT_COLLECTION)) return { ...rest, ...(lastSyncMs === undefined ? {} : { lastSyncMs }), collections: visible };
  return { ...rest, indexSize: 0, appliedSeq: 0, checkpointSeq: 0, collections: visible };
}
