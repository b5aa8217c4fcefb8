/**
 * The process side of one synthetic size: worker A starts on the bulk-loaded database with no
 * checkpoint (rebuild), writes its first checkpoint, then worker B starts from that checkpoint; then
 * the web process. POST /search is timed one request at a time (unfiltered, then with filters of
 * each selectivity, on the declared field and on the undeclared one) and under concurrency with autocannon; worker RSS is read before and after.
 */
import type { StackHandle } from './bench-context.js';
import { HttpClient } from './http-client.js';
import { runSearchLoad, timeSequentialSearches, type LoadResult, type SearchBody } from './http-search.js';
import { cpuPerRequest, snapshotCpu, waitForQuietProcesses } from './process-cpu.js';
import { readProcessMemory, type ProcessMemory } from './process-memory.js';
import type { WorkerStart } from './service-stack.js';
import { selectivityWhere, UNDECLARED_FIELD } from './synthetic-documents.js';

export const SELECTIVITIES = [1, 10, 50] as const; // percent of the chunks a filter keeps
export const K = 10;
const FILTERED_BUDGET_MS = 10_000; // per selectivity: a slow filter plan must not stall the run
/** Before the CPU per search is read: both workers done with their start-up work (5 % of a core over 500 ms, at most 60 s). */
const QUIET = { windowMs: 500, maxShare: 0.05, timeoutMs: 60_000 };

export interface HttpSizeResult {
  rebuild: WorkerStart;
  checkpoint: WorkerStart;
  rssAfterStart: ProcessMemory[]; // [A, B]
  rssAfterLoad: ProcessMemory[];
  webRss: ProcessMemory;
  sequential: number[];
  replies: unknown[];
  filtered: Array<{ percent: number; samples: number[] }>; // on the declared field: the payload index
  filteredSql: Array<{ percent: number; samples: number[] }>; // on the undeclared one: resolved in SQL
  load: LoadResult;
  cpuPerSequentialSearchMs: Record<string, number>; // CPU ms per request of each process, one request at a time
  cpuPerLoadedSearchMs: Record<string, number>; // ... under autocannon
}

export async function measureSyntheticHttp(
  handle: StackHandle,
  apiKey: string,
  queryTexts: readonly string[],
  options: { samples: number; seconds: number; connections: number; redisPid: number; progress(message: string): void },
): Promise<HttpSizeResult> {
  const { stack } = handle;
  options.progress('  worker A: start with no checkpoint (rebuild from the database)');
  const rebuild = await stack.startWorker();
  await stack.waitForCheckpoint(rebuild);
  options.progress(`  worker A ready in ${Math.round(rebuild.wallMs)} ms (index ${rebuild.index.source}); worker B: start from the checkpoint`);
  const checkpoint = await stack.startWorker();
  const rssAfterStart = [rebuild, checkpoint].map((worker) => readProcessMemory(worker.process.pid));
  await stack.startWeb();
  const client = new HttpClient(stack.url, apiKey);
  try {
    const bodies: SearchBody[] = queryTexts.map((query) => ({ query, k: K, mode: 'vector' as const })); // these figures are the vector index's, next to raw hnswlib;
    const pids = { web: stack.webPid, 'worker A': rebuild.process.pid, 'worker B': checkpoint.process.pid, redis: options.redisPid, client: process.pid };
    const quiet = await waitForQuietProcesses([rebuild.process.pid, checkpoint.process.pid], QUIET);
    options.progress(`  workers ${quiet.isQuiet ? 'quiet' : 'still busy'} after ${Math.round(quiet.waitedMs)} ms; ${options.samples} sequential searches`);
    const sequentialCpu = snapshotCpu(pids);
    const { samples: sequential, replies } = await timeSequentialSearches(client, bodies, options.samples);
    const cpuPerSequentialSearchMs = cpuPerRequest(sequentialCpu, snapshotCpu(pids), sequential.length + 50);
    const filtered: HttpSizeResult['filtered'] = [];
    const filteredSql: HttpSizeResult['filteredSql'] = [];
    for (const percent of SELECTIVITIES) {
      for (const [field, into] of [
        [undefined, filtered],
        [UNDECLARED_FIELD, filteredSql],
      ] as const) {
        options.progress(`  ${Math.ceil(options.samples / 2)} sequential searches with a ${percent} % filter${field ? ' on an undeclared field' : ''}`);
        const where = selectivityWhere(percent, field);
        const filteredBodies = bodies.map((body) => ({ ...body, where }));
        const { samples } = await timeSequentialSearches(client, filteredBodies, Math.ceil(options.samples / 2), { warmup: 10, budgetMs: FILTERED_BUDGET_MS });
        into.push({ percent, samples });
      }
    }
    options.progress(`  autocannon: ${options.connections} connections for ${options.seconds} s`);
    const loadCpu = snapshotCpu(pids);
    const load = await runSearchLoad(client, bodies, { seconds: options.seconds, connections: options.connections });
    const cpuPerLoadedSearchMs = cpuPerRequest(loadCpu, snapshotCpu(pids), load.completed + load.non2xx);
    const rssAfterLoad = [rebuild, checkpoint].map((worker) => readProcessMemory(worker.process.pid));
    return {
      rebuild,
      checkpoint,
      rssAfterStart,
      rssAfterLoad,
      webRss: readProcessMemory(stack.webPid),
      sequential,
      replies,
      filtered,
      filteredSql,
      load,
      cpuPerSequentialSearchMs,
      cpuPerLoadedSearchMs,
    };
  } finally {
    client.close();
    await stack.close();
  }
}
