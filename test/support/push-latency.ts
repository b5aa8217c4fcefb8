/**
 * Push latency of chat answers ("a stored answer reaches an SSE client within tens of
 * milliseconds"; 2 s polling waits 1 s on average). Measured per answer as the SSE client's arrival
 * time minus the answer row's created_at, which the worker stamps when it writes the row: so it
 * covers the SQL commit, the Redis publish, the web process's fan-out and the SSE write. The arrival
 * is read with Date.now(), the clock created_at is stamped with: performance.timeOrigin + now()
 * drifts from it (measured 0.05–1 ms ahead on this host, which read every sample that much high).
 * Both stamps are whole milliseconds (truncated), so a sample is within ±1 ms, unbiased on
 * average. Both clocks are the same host's; across hosts the figure would include their offset.
 * Shared by the end-to-end test and the benchmark command.
 */
import { nowMs, openSseClient, type SseClient, type SseEvent } from './sse-client.js';

export interface LatencySummary {
  count: number;
  minMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Nearest-rank percentiles, rounded to 0.01 ms. */
export function summarize(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN);
  return {
    count: sorted.length,
    minMs: round(sorted[0] ?? NaN),
    p50Ms: at(50),
    p90Ms: at(90),
    p99Ms: at(99),
    maxMs: round(sorted.at(-1) ?? NaN),
    meanMs: round(sorted.reduce((sum, x) => sum + x, 0) / sorted.length),
  };
}

/** For an SSE `message` event carrying a stored chat message: arrival minus the row's created_at. */
export function pushLatencyMs(event: SseEvent): number {
  const message = JSON.parse(event.data) as { createdAt?: unknown };
  if (typeof message.createdAt !== 'string') throw new Error(`event ${event.id ?? '?'} carries no createdAt`);
  return event.receivedAtWall - Date.parse(message.createdAt);
}

export interface PushLatencyOptions {
  postBase: string; // the web process questions are posted to (http://127.0.0.1:port)
  streamBase: string; // the web process the SSE client listens on (may be another one)
  sessionId: string;
  questions: number; // asked one after another, each waiting for its answer
  question?: (index: number) => string;
  headers?: Record<string, string>; // e.g. Authorization
  answerTimeoutMs?: number; // per question (default 30 s)
}

export interface PushLatencyResult {
  latencies: number[]; // answer row created → SSE arrival, ms
  roundTrips: number[]; // POST sent → answer arrival, ms (queue, retrieval, generation included)
  latency: LatencySummary;
  roundTrip: LatencySummary;
}

/** Opens one SSE client on streamBase, asks `questions` questions through postBase, and times each answer's push. */
export async function measurePushLatency(options: PushLatencyOptions): Promise<PushLatencyResult> {
  const headers = options.headers ?? {};
  const client: SseClient = await openSseClient(`${options.streamBase}/chat/sessions/${encodeURIComponent(options.sessionId)}/events`, { headers });
  const latencies: number[] = [];
  const roundTrips: number[] = [];
  try {
    for (let i = 0; i < options.questions; i++) {
      const sentAt = nowMs();
      const response = await fetch(`${options.postBase}/chat/sessions/${encodeURIComponent(options.sessionId)}/messages`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ content: options.question?.(i) ?? `question ${i}: where do bees store honey?` }),
      });
      const body = (await response.json()) as { message?: { id?: number } };
      const messageId = body.message?.id;
      if (response.status !== 202 || typeof messageId !== 'number') throw new Error(`POST answered ${response.status}: ${JSON.stringify(body)}`);
      const answer = await client.waitFor(
        (event) => event.event === 'message' && (JSON.parse(event.data) as { replyTo?: unknown }).replyTo === messageId,
        options.answerTimeoutMs ?? 30_000,
      );
      latencies.push(pushLatencyMs(answer));
      roundTrips.push(answer.receivedAt - sentAt);
    }
  } finally {
    client.close();
  }
  return { latencies, roundTrips, latency: summarize(latencies), roundTrip: summarize(roundTrips) };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
