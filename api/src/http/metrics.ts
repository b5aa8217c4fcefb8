/**
 * Prometheus metrics for GET /metrics (prom-client). One Registry per app, never prom-client's
 * global one, so two apps in one process (tests) never share or double-register metrics.
 *
 * - Measured here, per request: `colmeia_http_request_duration_seconds{method,route,status}`, route
 *   being the matched pattern (`/documents/:id`), never the raw path. The cost per request is one
 *   hrtime read, one 'finish' listener and one histogram observation.
 * - Read at scrape time, each source bounded by SOURCE_TIMEOUT_MS (a source that fails is skipped and
 *   `colmeia_metrics_source_up{source}` says so): queue counts (Bee-Queue checkHealth), documents by
 *   status and the latest vector_log seq (SQL), and every live worker's heartbeat.
 * - Workers have no HTTP port (a worker dyno has none routable), so they report through their Redis
 *   heartbeat (shared/src/heartbeats.ts), written every HEARTBEAT_INTERVAL_MS: index size, applied seq,
 *   last sync time, and per queue their job counts by outcome and a job-duration histogram. Worker
 *   numbers are therefore up to one heartbeat interval old; a dead worker's series vanish after three.
 *   Counters restart with the worker, under a new `worker` label, as Prometheus expects of a restart.
 * - Per collection (collection-metrics.ts): documents, chunks, newest seq, and per worker index size,
 *   applied seq and seq lag, with a `collection` label. A key over some collections gets only these,
 *   for its collections: every other series spans collections.
 */
import type { RequestHandler, Request } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { latestSeq } from '../../../shared/src/db/chunks-repo.js';
import { readCollectionStats } from '../../../shared/src/db/collections-repo.js';
import { countDocumentsByStatus } from '../../../shared/src/db/documents-repo.js';
import { withTimeout } from '../../../shared/src/time-limits.js';
import { JOB_DURATION_BUCKETS_S, readHeartbeats, type Heartbeat } from '../../../shared/src/heartbeats.js';
import { serializeError } from '../../../shared/src/logger.js';
import { queueList } from '../../../shared/src/queue/queues.js';
import type { ApiServices } from '../services.js';
import { canSeeCollection, reachesAllCollections, type Principal } from './access.js';
import { escapeLabel, renderCollectionMetrics } from './collection-metrics.js';

export interface AppMetrics {
  readonly contentType: string;
  /** Times every request; mount it before the routes. */
  readonly middleware: RequestHandler;
  /** Reads the scrape-time sources and renders the exposition text, as the key may see it. */
  render(principal: Principal): Promise<string>;
}

type MetricsServices = Pick<ApiServices, 'config' | 'logger' | 'db' | 'redis' | 'queues'>;

const SOURCE_TIMEOUT_MS = 1_000;
const HTTP_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'succeeded'] as const;
const JOB_OUTCOMES = ['succeeded', 'failed', 'errored', 'stalled'] as const;

export function createMetrics(s: MetricsServices): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createMetricSet([registry]);
  return {
    contentType: registry.contentType,
    middleware: timeRequests(metrics.httpDuration),
    async render(principal) {
      const canSee = (collection: string) => canSeeCollection(principal, collection);
      if (!reachesAllCollections(principal)) {
        const [stats, beats] = await Promise.all([bounded(readCollectionStats(s.db)), bounded(readLiveHeartbeats(s))]);
        return renderCollectionMetrics(stats, beats, canSee);
      }
      const [live, stats] = await Promise.all([refresh(s, metrics), bounded(readCollectionStats(s.db)).catch(() => undefined)]);
      metrics.gauges.sourceUp.set({ source: 'collections' }, stats ? 1 : 0);
      const text = await registry.metrics();
      return `${text}${text.endsWith('\n') ? '' : '\n'}${renderJobDurations(live)}${stats ? renderCollectionMetrics(stats, live, canSee) : ''}`;
    },
  };
}

type MetricSet = ReturnType<typeof createMetricSet>;
type SourceGauges = MetricSet['gauges'];

function createMetricSet(registers: Registry[]) {
  const httpDuration = new Histogram({
    name: 'colmeia_http_request_duration_seconds',
    help: 'HTTP requests by method, matched route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS_S,
    registers,
  });
  const gauges = {
    sourceUp: new Gauge({ name: 'colmeia_metrics_source_up', help: '1 when the source answered this scrape', labelNames: ['source'] as const, registers }),
    queueJobs: new Gauge({ name: 'colmeia_queue_jobs', help: 'Jobs per queue and state (Bee-Queue)', labelNames: ['queue', 'state'] as const, registers }),
    documents: new Gauge({ name: 'colmeia_documents', help: 'Documents by status', labelNames: ['status'] as const, registers }),
    latestSeq: new Gauge({ name: 'colmeia_vector_log_seq', help: 'Latest committed vector_log sequence number', registers }),
    workers: new Gauge({ name: 'colmeia_workers', help: 'Workers with a fresh heartbeat', registers }),
    indexSize: new Gauge({ name: 'colmeia_worker_index_size', help: 'Live vectors in the worker index', labelNames: ['worker'] as const, registers }),
    appliedSeq: new Gauge({
      name: 'colmeia_worker_applied_seq',
      help: 'vector_log seq the worker index has applied',
      labelNames: ['worker'] as const,
      registers,
    }),
    lastSync: new Gauge({
      name: 'colmeia_worker_last_sync_seconds',
      help: 'Duration of the worker index last sync',
      labelNames: ['worker'] as const,
      registers,
    }),
  };
  const workerJobs = new Counter({
    name: 'colmeia_worker_jobs_total',
    help: 'Jobs handled by each worker since it started, by queue and outcome (errored: threw and was retried or failed; stalled: found stalled)',
    labelNames: ['worker', 'queue', 'outcome'] as const,
    registers,
  });
  return { httpDuration, gauges, workerJobs };
}

function timeRequests(httpDuration: MetricSet['httpDuration']): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      httpDuration.observe({ method: req.method, route: routeOf(req), status: String(res.statusCode) }, seconds);
    });
    next();
  };
}

/** Reads every scrape-time source and sets the gauges from it; returns the live workers' heartbeats. */
async function refresh(s: MetricsServices, { gauges, workerJobs }: MetricSet): Promise<Heartbeat[]> {
  const [queues, documents, seq, beats] = await Promise.allSettled([
    bounded(Promise.all(queueList(s.queues).map(async (queue) => ({ name: queue.name, counts: await queue.checkHealth() })))),
    bounded(countDocumentsByStatus(s.db)),
    bounded(latestSeq(s.db)),
    bounded(readLiveHeartbeats(s)),
  ]);
  for (const [source, result] of Object.entries({ queues, documents, seq, heartbeats: beats })) {
    gauges.sourceUp.set({ source }, result.status === 'fulfilled' ? 1 : 0);
    if (result.status === 'rejected') s.logger.debug('metrics source failed', { source, err: serializeError(result.reason) });
  }
  gauges.queueJobs.reset();
  if (queues.status === 'fulfilled') {
    for (const { name, counts } of queues.value) for (const state of QUEUE_STATES) gauges.queueJobs.set({ queue: name, state }, counts[state]);
  }
  if (documents.status === 'fulfilled') for (const [status, n] of Object.entries(documents.value)) gauges.documents.set({ status }, n);
  if (seq.status === 'fulfilled') gauges.latestSeq.set(seq.value);
  const live = beats.status === 'fulfilled' ? beats.value : [];
  recordHeartbeats(gauges, workerJobs, live);
  return live;
}

function recordHeartbeats(gauges: SourceGauges, workerJobs: MetricSet['workerJobs'], live: Heartbeat[]): void {
  for (const gauge of [gauges.indexSize, gauges.appliedSeq, gauges.lastSync]) gauge.reset();
  workerJobs.reset();
  gauges.workers.set(live.length);
  for (const beat of live) {
    const worker = beat.id;
    gauges.indexSize.set({ worker }, beat.indexSize);
    gauges.appliedSeq.set({ worker }, beat.appliedSeq);
    if (beat.lastSyncMs !== undefined) gauges.lastSync.set({ worker }, beat.lastSyncMs / 1000);
    for (const [queue, stats] of Object.entries(beat.jobs ?? {})) {
      for (const outcome of JOB_OUTCOMES) workerJobs.inc({ worker, queue, outcome }, stats[outcome]);
    }
  }
}

function readLiveHeartbeats(s: MetricsServices): Promise<Heartbeat[]> {
  return readHeartbeats(s.redis, s.config.QUEUE_PREFIX, s.config.HEARTBEAT_INTERVAL_MS * 3);
}

function bounded<T>(promise: Promise<T>): Promise<T> {
  return withTimeout(promise, SOURCE_TIMEOUT_MS, `no answer within ${SOURCE_TIMEOUT_MS} ms`);
}

/** The matched route pattern, or 'unmatched' (404s, and requests refused before routing, such as 401s). */
function routeOf(req: Request): string {
  const route: unknown = req.route;
  const pattern: unknown = typeof route === 'object' && route !== null ? Reflect.get(route, 'path') : undefined;
  return typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : 'unmatched';
}

/**
 * The workers' job-duration histograms, written out directly: workers send cumulative bucket counts
 * (heartbeats.ts), and prom-client's Histogram only accepts single observations.
 */
function renderJobDurations(beats: Heartbeat[]): string {
  const name = 'colmeia_worker_job_duration_seconds';
  const lines = [`# HELP ${name} Job duration per worker and queue, since the worker started`, `# TYPE ${name} histogram`];
  for (const beat of beats) {
    for (const [queue, stats] of Object.entries(beat.jobs ?? {})) {
      const labels = `worker="${escapeLabel(beat.id)}",queue="${escapeLabel(queue)}"`;
      JOB_DURATION_BUCKETS_S.forEach((bound, i) => lines.push(`${name}_bucket{${labels},le="${bound}"} ${stats.durationBuckets[i] ?? 0}`));
      lines.push(`${name}_bucket{${labels},le="+Inf"} ${stats.durationCount}`);
      lines.push(`${name}_sum{${labels}} ${stats.durationSumS}`);
      lines.push(`${name}_count{${labels}} ${stats.durationCount}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
