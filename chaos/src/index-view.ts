/**
 * A worker's index as the worker itself saved it: after SIGTERM a worker writes a final checkpoint
 * (or keeps the one it wrote at the same seq) and logs its name. This reads that checkpoint's
 * manifest, checks the file's size and SHA-256 against it (hnswlib-node must only ever be handed a
 * whole file), and lists its live labels with hnswlib-node's readIndex: the labels minus the ones
 * the manifest lists as deleted. No hook in the production code is needed.
 */
import { createHash } from 'node:crypto';
import { link, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import { z } from 'zod';

const Manifest = z.object({
  name: z.string(),
  seq: z.number(),
  count: z.number(),
  dimension: z.number(),
  deleted: z.array(z.number()),
  size: z.number(),
  sha256: z.string(),
});

// Written at shutdown (or earlier at the same seq), or loaded at start with nothing applied since.
const CheckpointLine = z.object({ message: z.enum(['checkpoint written', 'index checkpoint loaded']), checkpoint: z.string(), collection: z.string() });

export type IndexView = { ok: true; name: string; seq: number; labels: number[] } | { ok: false; reason: string };

/** The name of the last checkpoint of `collection` a worker's log says it wrote or loaded (JSON log lines), if any. */
export function lastCheckpointName(lines: readonly string[], collection: string): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] ?? '';
    if (!line.includes('checkpoint written') && !line.includes('index checkpoint loaded')) continue;
    try {
      const parsed = CheckpointLine.safeParse(JSON.parse(line));
      if (parsed.success && parsed.data.collection === collection) return parsed.data.checkpoint;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** A checkpoint's two files held under private hard links, so no prune (of any worker sharing the directory) can remove them before they are read. */
export type PinnedCheckpoint = { ok: true; name: string; manifestPath: string; indexPath: string } | { ok: false; reason: string };

let pins = 0;

/**
 * Links checkpoint `name` of `dir` (manifest and index file) to private names; call it as soon as
 * the worker that named it has stopped. Each call has its own names: workers sharing a directory
 * may both name one checkpoint (one wrote it, the other loaded it).
 */
export async function pinCheckpoint(dir: string, name: string): Promise<PinnedCheckpoint> {
  const pin = `chaos-${process.pid}-${++pins}`;
  const manifestPath = path.join(dir, `${name}.json.${pin}.tmp`);
  const indexPath = path.join(dir, `${name}.${pin}.tmp`);
  try {
    await link(path.join(dir, `${name}.json`), manifestPath);
  } catch (err) {
    return { ok: false, reason: `manifest of ${name} missing: ${String(err)}` };
  }
  try {
    await link(path.join(dir, `${name}.bin`), indexPath);
  } catch (err) {
    await unlink(manifestPath).catch(() => undefined);
    return { ok: false, reason: `index file of ${name} missing: ${String(err)}` };
  }
  return { ok: true, name, manifestPath, indexPath };
}

/** Reads a pinned checkpoint (its file checked against its manifest first), then removes the private links. */
export async function readIndexView(pinned: PinnedCheckpoint): Promise<IndexView> {
  if (!pinned.ok) return pinned;
  const { name, manifestPath, indexPath } = pinned;
  try {
    let manifest: z.infer<typeof Manifest>;
    try {
      manifest = Manifest.parse(JSON.parse(await readFile(manifestPath, 'utf8')));
    } catch (err) {
      return { ok: false, reason: `manifest of ${name} unreadable: ${String(err)}` };
    }
    const size = (await stat(indexPath)).size;
    const sha256 = createHash('sha256')
      .update(await readFile(indexPath))
      .digest('hex');
    if (size !== manifest.size || sha256 !== manifest.sha256) return { ok: false, reason: `index file of ${name} does not match its manifest` };
    const index = new hnswlib.HierarchicalNSW('cosine', manifest.dimension);
    index.readIndexSync(indexPath, true);
    const deleted = new Set(manifest.deleted);
    const labels = index.getIdsList().filter((label) => !deleted.has(label));
    return { ok: true, name, seq: manifest.seq, labels };
  } finally {
    await unlink(indexPath).catch(() => undefined);
    await unlink(manifestPath).catch(() => undefined);
  }
}

/** |a Δ b| of two id lists, and how many ids appear twice in `labels`. */
export function compareIds(labels: readonly number[], live: readonly number[]): { divergence: number; duplicateLabels: number } {
  const labelSet = new Set(labels);
  const liveSet = new Set(live);
  let divergence = 0;
  for (const id of labelSet) if (!liveSet.has(id)) divergence += 1;
  for (const id of liveSet) if (!labelSet.has(id)) divergence += 1;
  return { divergence, duplicateLabels: labels.length - labelSet.size };
}
