/**
 * POST /search as a client sees it: one request at a time for latency percentiles (keep-alive, so no
 * handshake is timed), and autocannon for throughput under concurrency. Throughput is what the whole
 * stack (web, Redis, workers and this client) sustains on the machine's cores.
 */
import autocannon from 'autocannon';
import type { HttpClient } from './http-client.js';

export interface SearchBody {
  query: string;
  k: number;
  mode: 'vector' | 'lexical' | 'hybrid';
  where?: Record<string, unknown>;
}

export interface SequentialSearches {
  samples: number[]; // ms per request, after the warm-up
  replies: unknown[]; // the bodies of the first bodies.length timed requests, for correctness checks
}

/** `count` timed requests after `warmup` untimed ones; stops early (after at least 20) once `budgetMs` is spent. */
export async function timeSequentialSearches(
  client: HttpClient,
  bodies: readonly SearchBody[],
  count: number,
  options: { warmup?: number; budgetMs?: number } = {},
): Promise<SequentialSearches> {
  const { warmup = 50, budgetMs = Infinity } = options;
  for (let i = 0; i < warmup; i++) await client.expect(200, 'POST', '/search', bodies[i % bodies.length]);
  const samples: number[] = [];
  const replies: unknown[] = [];
  const deadline = performance.now() + budgetMs;
  for (let i = 0; i < count && (i < 20 || performance.now() < deadline); i++) {
    const reply = await client.expect(200, 'POST', '/search', bodies[i % bodies.length]);
    samples.push(reply.ms);
    if (i < bodies.length) replies.push(reply.body);
  }
  return { samples, replies };
}

export interface LoadResult {
  requestsPerSecond: number; // completed 2xx requests over the run's duration
  completed: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSeconds: number;
  connections: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number }; // autocannon's histogram: whole ms
}

export async function runSearchLoad(client: HttpClient, bodies: readonly SearchBody[], options: { seconds: number; connections: number }): Promise<LoadResult> {
  const headers = client.headers;
  const result = await autocannon({
    url: new URL('/search', client.baseUrl).href,
    connections: options.connections,
    duration: options.seconds,
    requests: bodies.map((body) => ({ method: 'POST' as const, path: '/search', headers, body: JSON.stringify(body) })),
  });
  const completed = result['2xx'];
  return {
    requestsPerSecond: completed / result.duration,
    completed,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSeconds: result.duration,
    connections: result.connections,
    latencyMs: { mean: result.latency.mean, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
  };
}
