/**
 * The command line the Procfile gives a process type, so tests and the benchmark start the web and
 * the worker exactly as they are deployed: the same node flags (heap sizes are part of what the
 * memory figures measure) and the same environment assignments. A Procfile line is
 * `<type>: [NAME=value ...] node [--flag ...] <entry>`; anything else is refused rather than guessed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface ProcfileCommand {
  env: Record<string, string>; // NAME=value words before `node`
  nodeFlags: string[]; // the words between `node` and the entry
  entry: string;
}

export function readProcfileCommand(repoRoot: string, processType: string): ProcfileCommand {
  const procfile = readFileSync(path.join(repoRoot, 'Procfile'), 'utf8');
  const line = procfile.split('\n').find((entry) => entry.startsWith(`${processType}:`));
  if (line === undefined) throw new Error(`the Procfile has no ${processType}: line`);
  return parseProcfileCommand(line.slice(processType.length + 1));
}

export function parseProcfileCommand(command: string): ProcfileCommand {
  const words = command.trim().split(/\s+/);
  const env: Record<string, string> = {};
  let at = 0;
  for (let match = /^([A-Z_][A-Z0-9_]*)=(\S*)$/.exec(words[at] ?? ''); match; match = /^([A-Z_][A-Z0-9_]*)=(\S*)$/.exec(words[at] ?? '')) {
    env[match[1] ?? ''] = match[2] ?? '';
    at += 1;
  }
  if (words[at] !== 'node') throw new Error(`Procfile command "${command.trim()}" does not run node`);
  const nodeFlags: string[] = [];
  for (at += 1; words[at]?.startsWith('--'); at += 1) nodeFlags.push(words[at] ?? '');
  const entry = words[at];
  if (entry === undefined || at !== words.length - 1) throw new Error(`Procfile command "${command.trim()}" is not node [--flag ...] <entry>`);
  return { env, nodeFlags, entry };
}
