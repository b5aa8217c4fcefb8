/** Resident memory of a process from /proc/<pid>/status (Linux): what the machine really pays for a worker. */
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  rssBytes: number; // VmRSS: resident now
  peakRssBytes: number; // VmHWM: the high-water mark
}

/** Resident memory split by what backs it (/proc/<pid>/smaps_rollup): file pages are the binary and libraries, anonymous pages the heaps. */
export interface ResidentSplit {
  rssBytes: number;
  anonymousBytes: number; // V8's heap, malloc (hnswlib's index, SQLite's cache), stacks
  fileBytes: number; // mapped files: the node binary, shared libraries, native addons
}

export function readProcessMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssBytes: kilobytes(status, 'VmRSS') * 1024, peakRssBytes: kilobytes(status, 'VmHWM') * 1024 };
}

export function readResidentSplit(pid: number): ResidentSplit {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const rssBytes = kilobytes(rollup, 'Rss') * 1024;
  const anonymousBytes = kilobytes(rollup, 'Anonymous') * 1024;
  return { rssBytes, anonymousBytes, fileBytes: rssBytes - anonymousBytes };
}

export const MIB = 1024 * 1024;

function kilobytes(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+([0-9]+) kB$`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`/proc status has no ${field} line`);
  return Number(match[1]);
}
