/**
 * The per-collection series of GET /metrics, each with a `collection` label, narrowed to the
 * collections the key may see. Written out as text at each scrape (no shared gauges), so two scrapes
 * with different scopes never mix. From SQL: documents, chunks and the newest change-log seq; from
 * each live worker's heartbeat: its index size and applied seq per collection, and the seq lag (the
 * newest seq minus what that worker has applied; 0 when it is caught up).
 */
import type { CollectionStats } from '../../../shared/src/db/collections-repo.js';
import type { Heartbeat } from '../../../shared/src/heartbeats.js';

interface Series {
  name: string;
  help: string;
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

export function renderCollectionMetrics(stats: readonly CollectionStats[], beats: readonly Heartbeat[], canSee: (collection: string) => boolean): string {
  const visible = stats.filter((s) => canSee(s.collection));
  const perCollection = (name: string, help: string, value: (s: CollectionStats) => number): Series => ({
    name,
    help,
    samples: visible.map((s) => ({ labels: { collection: s.collection }, value: value(s) })),
  });
  const perWorker = (name: string, help: string, value: (index: WorkerIndex, s: CollectionStats) => number): Series => ({
    name,
    help,
    samples: visible.flatMap((s) =>
      beats.flatMap((beat) => {
        const index = beat.collections?.[s.collection];
        return index ? [{ labels: { collection: s.collection, worker: beat.id }, value: value(index, s) }] : [];
      }),
    ),
  });
  const series = [
    perCollection('colmeia_collection_documents', 'Documents in the collection', (s) => s.documents),
    perCollection('colmeia_collection_chunks', 'Chunks in the collection', (s) => s.chunks),
    perCollection('colmeia_collection_latest_seq', "Newest seq of the collection's change log", (s) => s.latestSeq),
    perWorker('colmeia_collection_index_size', "Live vectors in each worker's index of the collection", (index) => index.size),
    perWorker('colmeia_collection_applied_seq', "Change-log seq each worker's index of the collection has applied", (index) => index.appliedSeq),
    perWorker('colmeia_collection_seq_lag', "The collection's newest seq minus what each worker has applied", (index, s) =>
      Math.max(0, s.latestSeq - index.appliedSeq),
    ),
  ];
  return series.map(renderGauge).join('');
}

type WorkerIndex = NonNullable<Heartbeat['collections']>[string];

function renderGauge({ name, help, samples }: Series): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`];
  for (const { labels, value } of samples) {
    const text = Object.entries(labels)
      .map(([key, v]) => `${key}="${escapeLabel(v)}"`)
      .join(',');
    lines.push(`${name}{${text}} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}

export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
