/**
 * Runs a job and waits for its result (search). Listeners are attached once per queue, and each
 * waiter is registered under its job id *before* save(): a worker that finishes before save()
 * resolves cannot lose the result (a known Bee-Queue race with job-level listeners). A job that
 * failed (threw in the worker) is a 503 that names the worker, not what the worker said.
 */
import { randomUUID } from 'node:crypto';
import type Queue from 'bee-queue';
import { SearchTimeoutError, UpstreamUnavailableError } from '../../../shared/src/errors.js';
import { saveOrUnavailable } from '../../../shared/src/queue/enqueue.js';
import type { JobResult } from '../../../shared/src/jobs/queue-definition.js';

interface Waiter {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

export class JobRunner<T> {
  private readonly waiters = new Map<string, Waiter>();

  constructor(private readonly queue: Queue<T>) {
    queue.on('job succeeded', (jobId, result) => this.settle(jobId, (w) => w.resolve(result)));
    // The worker's message may hold a driver's text or an address: it goes to the log (the error handler logs the cause), never to the client.
    queue.on('job failed', (jobId, err) =>
      this.settle(jobId, (w) => w.reject(new UpstreamUnavailableError(`the ${queue.name} failed in a worker; try again`, undefined, { cause: err }))),
    );
  }

  /** Resolves with the job's result envelope, or rejects with a 504 after timeoutMs. */
  async run<R>(data: T, timeoutMs: number): Promise<JobResult<R>> {
    const jobId = `${this.queue.name}:${randomUUID()}`;
    let timer: NodeJS.Timeout | undefined;
    const result = new Promise<JobResult<R>>((resolve, reject) => {
      this.waiters.set(jobId, { resolve: (value) => resolve(value as JobResult<R>), reject });
      timer = setTimeout(() => {
        this.waiters.delete(jobId);
        reject(new SearchTimeoutError(`no worker answered within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    // It may settle while save() is still pending (a worker that fails at once, or the timeout) and
    // is awaited only after: handled from the start, or that rejection would end the process.
    result.catch(() => undefined);
    try {
      const job = this.queue.createJob(data).setId(jobId).timeout(timeoutMs);
      await saveOrUnavailable(this.queue, job);
      return await result;
    } finally {
      clearTimeout(timer);
      this.waiters.delete(jobId);
    }
  }

  private settle(jobId: string, action: (waiter: Waiter) => void): void {
    const waiter = this.waiters.get(jobId);
    if (!waiter) return;
    this.waiters.delete(jobId);
    action(waiter);
  }
}
