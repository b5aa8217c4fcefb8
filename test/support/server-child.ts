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
