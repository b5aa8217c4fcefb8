/**
 * A worker process kept running the way a platform keeps a dyno running: whenever it exits without
 * being asked to (kill -9, a crash, a start that failed), it is started again after a short pause
 * that grows while starts keep failing (never a tight loop). The environment comes from a function,
 * so a scenario can switch it (reindex: the new embedder) and the next start picks it up.
 */
import { startWorker, type Env, type ExitInfo, type ServiceProcess } from '../../test/support/service-processes.js';

const READY_TIMEOUT_MS = 90_000;
const RESTART_PAUSE_MS = 200;
const MAX_RESTART_PAUSE_MS = 5_000;

export class Supervisor {
  readonly processes: ServiceProcess[] = []; // every process started, the dead ones included (their logs)
  kills = 0;
  unplannedExits = 0;
  startFailures = 0; // exited before printing "worker ready"
  private process: ServiceProcess | undefined;
  private isReadyNow = false;
  private isStopping = false;
  private failuresInARow = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readyWaiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    private readonly envFor: () => Env,
  ) {}

  get isReady(): boolean {
    return this.isReadyNow;
  }

  get pid(): number | undefined {
    return this.isReadyNow ? this.process?.pid : undefined;
  }

  get current(): ServiceProcess | undefined {
    return this.process;
  }

  /** Starts the first process (or one after stop()) and resolves once it is ready. */
  async start(): Promise<void> {
    this.isStopping = false;
    this.launch();
    await this.whenReady(READY_TIMEOUT_MS);
  }

  /** Resolves once a process is ready; rejects after timeoutMs. */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.isReadyNow) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((waiter) => waiter !== done);
        reject(new Error(`${this.name} not ready within ${timeoutMs} ms\n${this.process?.tail(30) ?? ''}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.readyWaiters.push(done);
    });
  }

  /** kill -9 of the running process; the supervisor starts a new one. */
  async kill(): Promise<void> {
    const proc = this.process;
    if (proc === undefined || proc.exitStatus !== undefined) return;
    this.kills += 1;
    this.isReadyNow = false;
    await proc.kill();
  }

  /** SIGTERM, planned: no restart. Returns how it exited. */
  async stop(): Promise<ExitInfo | undefined> {
    this.isStopping = true;
    clearTimeout(this.restartTimer);
    this.isReadyNow = false;
    const proc = this.process;
    if (proc === undefined || proc.exitStatus !== undefined) return undefined;
    return proc.stop('SIGTERM');
  }

  private launch(): void {
    startWorker(this.envFor()).then(
      (proc) => this.watch(proc),
      () => {
        this.startFailures += 1; // the entry file is missing or the spawn failed
        this.scheduleRestart();
      },
    );
  }

  private watch(proc: ServiceProcess): void {
    this.process = proc;
    this.processes.push(proc);
    proc.child.once('exit', () => {
      if (this.process !== proc) return;
      const wasReady = this.isReadyNow;
      this.isReadyNow = false;
      if (this.isStopping) return;
      this.unplannedExits += 1;
      if (!wasReady) this.startFailures += 1;
      this.scheduleRestart();
    });
    proc.waitForLine(/worker ready/, READY_TIMEOUT_MS).then(
      () => {
        if (this.process !== proc || proc.exitStatus !== undefined) return;
        this.isReadyNow = true;
        this.failuresInARow = 0;
        const waiters = this.readyWaiters;
        this.readyWaiters = [];
        for (const waiter of waiters) waiter();
      },
      () => undefined, // exited first, or never ready: the exit handler restarts it
    );
  }

  private scheduleRestart(): void {
    if (this.isStopping) return;
    this.failuresInARow += 1;
    const pauseMs = Math.min(MAX_RESTART_PAUSE_MS, RESTART_PAUSE_MS * 2 ** Math.min(5, this.failuresInARow - 1));
    this.restartTimer = setTimeout(() => {
      if (!this.isStopping) this.launch();
    }, pauseMs);
  }
}
