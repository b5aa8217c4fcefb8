/**
 * The chaos run's only way into colmeia: HTTP to the web process on 127.0.0.1. Every reply is
 * counted by status class (a 500 is a defect; a 503 with Retry-After is the documented answer
 * during an outage; a 504 is a search no worker took in time), and a request that gets no reply at
 * all (connection refused, timeout) is an `unknown` outcome, never a thrown error: the history
 * decides what an unknown means.
 */
export interface Reply {
  status: number; // 0: no reply (network error or timeout)
  body: unknown;
  retryAfter: string | null;
  text: string;
}

export interface StatusCounts {
  requests: number;
  status500: number;
  status503: number;
  status503WithoutRetryAfter: number;
  status504: number;
  otherStatus5xx: number;
  noReply: number;
}

export function emptyStatusCounts(): StatusCounts {
  return { requests: 0, status500: 0, status503: 0, status503WithoutRetryAfter: 0, status504: 0, otherStatus5xx: 0, noReply: 0 };
}

const REQUEST_TIMEOUT_MS = 15_000;
const MAX_SAMPLES = 20;

export class ChaosClient {
  readonly counts = emptyStatusCounts();
  readonly samples500: string[] = []; // the first few 500 replies, for the defect report

  constructor(
    private readonly baseUrl: string,
    private readonly key: string,
  ) {}

  async request(method: string, path: string, body?: unknown): Promise<Reply> {
    this.counts.requests += 1;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch {
      this.counts.noReply += 1;
      return { status: 0, body: null, retryAfter: null, text: '' };
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = text === '' ? null : (JSON.parse(text) as unknown);
    } catch {
      parsed = null; // not JSON (an HTML error page): the status still counts
    }
    const reply: Reply = { status: response.status, body: parsed, retryAfter: response.headers.get('retry-after'), text };
    this.count(method, path, reply);
    return reply;
  }

  get(path: string): Promise<Reply> {
    return this.request('GET', path);
  }

  post(path: string, body: unknown = {}): Promise<Reply> {
    return this.request('POST', path, body);
  }

  delete(path: string): Promise<Reply> {
    return this.request('DELETE', path);
  }

  private count(method: string, path: string, reply: Reply): void {
    if (reply.status === 500) {
      this.counts.status500 += 1;
      if (this.samples500.length < MAX_SAMPLES) this.samples500.push(`${method} ${path} → 500 ${reply.text.slice(0, 300)}`);
    } else if (reply.status === 503) {
      this.counts.status503 += 1;
      if (reply.retryAfter === null) this.counts.status503WithoutRetryAfter += 1;
    } else if (reply.status === 504) this.counts.status504 += 1;
    else if (reply.status > 500) this.counts.otherStatus5xx += 1;
  }
}
