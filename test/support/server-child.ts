/**
 * A server process a test started (redis-server, postgres): the tail of what it printed, for error
 * messages, and how it exited, once it has. It is killed when the test process exits.
 */
import type { ChildProcess } from 'node:child_process';
import { killOnExit } from './service-processes.js';

const MAX_OUTPUT_CHARS = 16_384;

export interface ServerChild {
  child: ChildProcess;
  exited: Promise<void>;
  exitStatus?: { code: number | null; signal: NodeJS.Signals | null; error?: Error };
  output: string;
}

export function trackServerChild(child: ChildProcess): ServerChild {
  killOnExit(child);
  const running: ServerChild = { child, exited: Promise.resolve(), output: '' };
  const keep = (chunk: string) => (running.output = (running.output + chunk).slice(-MAX_OUTPUT_CHARS));
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  running.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      running.exitStatus = { code, signal };
      resolve();
    });
    child.once('error', (error) => {
      running.exitStatus = { code: null, signal: null, error };
      resolve();
    });
  });
  return running;
}

/**
 * Sends `signal` and waits for the exit; a server still running after `timeoutMs` is SIGKILLed and
 * the call fails naming it (`what`), so a test never hangs on a server that ignores its signal.
 */
export async function signalAndWait(running: ServerChild | undefined, signal: NodeJS.Signals, timeoutMs: number, what: string): Promise<void> {
  if (running === undefined || running.exitStatus !== undefined) return;
  running.child.ref(); // keep the test process alive until the exit is seen (start() unrefs it)
  running.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const isLate = await Promise.race([
    running.exited.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!isLate) return;
  running.child.kill('SIGKILL');
  await running.exited;
  throw new Error(`${what} ignored ${signal} for ${timeoutMs} ms; SIGKILLed`);
}
