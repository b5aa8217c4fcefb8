/** What the figures were measured on: they mean little without the machine, its load and the versions. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number; // logical CPUs the OS reports
  availableParallelism: number;
  memoryBytes: number;
  freeMemoryBytes: number;
  loadAverage: number[]; // 1, 5, 15 min: a busy machine makes every timing noisier
  platform: string;
  kernel: string;
  node: string;
  versions: Record<string, string>; // the libraries the raw baselines use
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))),
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    node: process.version,
    versions: Object.fromEntries(['hnswlib-node', 'bee-queue', 'better-sqlite3', 'express', 'autocannon'].map((name) => [name, packageVersion(name)])),
  };
}

function packageVersion(name: string): string {
  try {
    const file = createRequire(import.meta.url).resolve(`${name}/package.json`);
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string' ? parsed.version : 'unknown';
  } catch {
    return 'not installed';
  }
}
