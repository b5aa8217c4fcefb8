/**
 * Durable small files (a manifest, CURRENT): written under a temporary name, fsynced, their length
 * checked, then renamed over the target, so a reader sees the old content or the new, never a part.
 * A failed write leaves no temporary file behind (a full disk must not fill up with them).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Replaces `file` by `content`: a temporary file, written, fsynced and its length checked, then
 * renamed over it. The temporary file never outlives a failure. The caller fsyncs the directory.
 */
export async function replaceFile(file: string, content: string): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const bytes = Buffer.from(content);
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
      const { size } = await handle.stat();
      if (size !== bytes.length) throw new Error(`${path.basename(file)}: ${size} of ${bytes.length} bytes written`);
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Flushes a file (opened r+) or a directory (opened r, which is how a rename is made durable). */
export async function fsyncPath(target: string, flags: 'r+' | 'r'): Promise<void> {
  const handle = await open(target, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
