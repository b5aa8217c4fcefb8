/**
 * The faults themselves, each bounded in time: kill -9 of a worker (at a random moment, or while it
 * has a checkpoint's temporary file open, seen through /proc/<pid>/fd), and a small tmpfs whose
 * free space a ballast file takes and gives back.
 */
import { execFileSync } from 'node:child_process';
import { watch } from 'node:fs';
import { readdir, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Random } from './random.js';
import type { Stack } from './stack.js';
import type { Supervisor } from './supervisor.js';

const READY_WAIT_MS = 90_000;

/** kill -9 of a random ready worker (waiting, bounded, for one to be ready). */
export async function killRandomWorker(stack: Stack, random: Random): Promise<Supervisor> {
  if (!stack.workers.some((worker) => worker.isReady)) await Promise.any(stack.workers.map((worker) => worker.whenReady(READY_WAIT_MS)));
  const victim = random.pick(stack.workers.filter((worker) => worker.isReady));
  await victim.kill();
  return victim;
}

/** Which worker has a `*.bin.tmp` (a checkpoint being written) of the default collection's checkpoint dir open, if any. */
export async function checkpointWriter(stack: Stack): Promise<Supervisor | undefined> {
  for (const worker of stack.workers) {
    const pid = worker.pid;
    if (pid === undefined) continue;
    const fdDir = `/proc/${pid}/fd`;
    const fds = await readdir(fdDir).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(path.join(fdDir, fd)).catch(() => '');
      if (target.startsWith(stack.checkpointDir) && target.endsWith('.bin.tmp')) return worker;
    }
  }
  return undefined;
}

/**
 * Waits (at most timeoutMs) for a checkpoint write to begin, then kills its writer a random 0–8 ms
 * later if it still has the file open; 'landed' when it did, 'missed' when the write was over first.
 */
export async function killDuringCheckpoint(stack: Stack, random: Random, timeoutMs: number): Promise<'landed' | 'missed' | 'none'> {
  const started = await new Promise<boolean>((resolve) => {
    const watcher = watch(stack.checkpointDir, (_event, file) => {
      if (typeof file === 'string' && file.endsWith('.bin.tmp')) finish(true);
    });
    const timer = setTimeout(() => finish(false), timeoutMs);
    function finish(value: boolean) {
      clearTimeout(timer);
      watcher.close();
      resolve(value);
    }
  });
  if (!started) return 'none';
  await delay(random.between(0, 8));
  const writer = await checkpointWriter(stack);
  if (writer === undefined) return 'missed';
  await writer.kill();
  return 'landed';
}

/** A tmpfs of sizeMb at dir, or the reason it cannot be mounted (not root, no permission). */
export function mountTmpfs(dir: string, sizeMb: number): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return `mount -t tmpfs failed: ${stderr || String(err)}`;
  }
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); // lazy: even if a killed process still held a file
  } catch {
    // not mounted (any more): nothing to undo
  }
}

/** Fills the tmpfs at dir until about leaveBytes are free (a ballast file), or frees it again. */
export async function fillTmpfs(dir: string, leaveBytes: number): Promise<void> {
  const free = Number(execFileSync('df', ['--output=avail', '-B1', dir], { encoding: 'utf8' }).trim().split('\n')[1] ?? '0');
  await writeFile(path.join(dir, 'ballast'), Buffer.alloc(Math.max(0, free - leaveBytes))).catch(() => undefined); // ENOSPC at the end is the point
}

export async function freeTmpfs(dir: string): Promise<void> {
  await rm(path.join(dir, 'ballast'), { force: true });
}
