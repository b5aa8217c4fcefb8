/** Resident memory of a process from /proc/<pid>/status (Linux): what the machine really pays for a worker. */
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  rssBytes: number; // VmRSS: resident now
  peakRssBytes: number; // VmHWM: the high-water mark
}

export function readProcessMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssBytes: kilobytes(status, 'VmRSS') * 1024, peakRssBytes: kilobytes(status, 'VmHWM') * 1024 };
}

export const MIB = 1024 * 1024;

function kilobytes(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+([0-9]+) kB$`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`/proc status has no ${field} line`);
  return Number(match[1]);
}
