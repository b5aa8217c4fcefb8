/**
 * Index checkpoints on disk: `<name>.bin` (hnswlib's file) plus `<name>.json` (the manifest), and a
 * `CURRENT` file naming the newest. Every file is written under a temporary name, fsynced, its
 * length checked and renamed, and the directory fsynced. hnswlib reports no short write, so the
 * index file is proven whole (inspectHnswFile) before its manifest exists, and CURRENT moves only
 * to a proven checkpoint; a failed commit removes every file it made and leaves the previous
 * checkpoint untouched (RELIABILITY.md item 7, row D1). hnswlib-node must never be handed a file
 * that is not verified first (a failed readIndex leaves a freed pointer behind), so loading goes
 * through verifiedCopy: a private hard link whose size, sha256 and layout match the manifest, all
 * three from one read of the file.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { inspectHnswFile, type HnswFileShape } from './hnsw-file-check.js';
import { fsyncPath, replaceFile } from './replace-file.js';

const NAME = /^ckpt-[0-9]{16}-[0-9a-f]{8}$/;

export const Manifest = z.strictObject({
  version: z.literal(1),
  name: z.string().regex(NAME),
  seq: z.number().int().nonnegative(),
  count: z.number().int().nonnegative(), // live (not deleted) labels
  dimension: z.number().int().positive(),
  embedder: z.string(),
  instanceId: z.string(),
  space: z.literal('cosine'),
  params: z.strictObject({ m: z.number().int(), efConstruction: z.number().int() }),
  maxElements: z.number().int().positive(),
  deleted: z.array(z.number().int().nonnegative()), // labels marked deleted in the file
  size: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
});
export type Manifest = z.infer<typeof Manifest>;
export type ManifestFields = Omit<Manifest, 'version' | 'name' | 'size' | 'sha256' | 'createdAt'>;

const KEEP = 2;

export class CheckpointStore {
  constructor(readonly dir: string) {}

  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** A fresh name for a checkpoint at `seq`; names sort by seq. */
  newName(seq: number): string {
    return `ckpt-${String(seq).padStart(16, '0')}-${randomBytes(4).toString('hex')}`;
  }

  /**
   * Has `writeIndexFile` write the index file under a temporary name, proves it whole, seals it with
   * its manifest and makes it CURRENT. Throws if any step fails, after removing what it wrote.
   */
  async commit(name: string, fields: ManifestFields, writeIndexFile: (file: string) => Promise<void>): Promise<Manifest> {
    let manifest: Manifest;
    try {
      manifest = await this.stage(name, fields, writeIndexFile);
      await replaceFile(path.join(this.dir, 'CURRENT'), name); // the commit point
    } catch (err) {
      await this.discard(name);
      throw err;
    }
    await fsyncPath(this.dir, 'r');
    return manifest;
  }

  /** The manifest CURRENT names, or the reason there is none usable. */
  async readCurrent(): Promise<{ manifest: Manifest } | { reason: string }> {
    let name: string;
    try {
      name = (await readFile(path.join(this.dir, 'CURRENT'), 'utf8')).trim();
    } catch {
      return { reason: 'no checkpoint (CURRENT missing)' };
    }
    if (!NAME.test(name)) return { reason: 'CURRENT does not name a checkpoint' };
    let raw: string;
    try {
      raw = await readFile(path.join(this.dir, `${name}.json`), 'utf8');
    } catch {
      return { reason: `manifest of ${name} missing` };
    }
    return parseManifest(name, raw);
  }

  /**
   * Links the checkpoint file to a private name and checks its size, checksum and layout, so that
   * neither a damaged file nor a concurrent prune can reach readIndex. The caller unlinks the copy.
   */
  async verifiedCopy(manifest: Manifest): Promise<{ path: string } | { reason: string }> {
    const copy = path.join(this.dir, `${manifest.name}.load-${randomBytes(4).toString('hex')}.tmp`);
    try {
      await link(path.join(this.dir, `${manifest.name}.bin`), copy);
    } catch {
      return { reason: `index file of ${manifest.name} missing` };
    }
    const reason = await copyMismatch(copy, manifest);
    if (reason === undefined) return { path: copy };
    await unlink(copy).catch(() => undefined);
    return { reason };
  }

  /** Unlinks a copy verifiedCopy made. */
  async removeCopy(copy: string): Promise<void> {
    await unlink(copy).catch(() => undefined);
  }

  /**
   * Keeps CURRENT's checkpoint and the KEEP newest complete ones (both files present); removes older
   * ones, and files older than `current` that no commit will finish. Newer names may belong to a
   * commit under way in another process and are left alone.
   */
  async prune(current: string): Promise<void> {
    const files = await readdir(this.dir);
    const complete = [...new Set(files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)))]
      .filter((name) => NAME.test(name) && files.includes(`${name}.bin`) && name <= current)
      .sort()
      .reverse();
    const keep = new Set([current, await this.currentName(), ...complete.slice(0, KEEP)]);
    for (const file of files) {
      const name = /^(ckpt-[0-9]{16}-[0-9a-f]{8})\./.exec(file)?.[1];
      if (name === undefined || keep.has(name) || name > current || file.includes('.load-')) continue;
      await unlink(path.join(this.dir, file)).catch(() => undefined);
    }
  }

  private async stage(name: string, fields: ManifestFields, writeIndexFile: (file: string) => Promise<void>): Promise<Manifest> {
    const tmp = this.tempIndexPath(name);
    await writeIndexFile(tmp);
    await fsyncPath(tmp, 'r+');
    const { size, sha256, check } = await inspectHnswFile(tmp, shapeOf(fields));
    if (!check.ok) throw new Error(`index file of ${name} is not whole: ${check.reason}`);
    const manifest: Manifest = { version: 1, name, ...fields, size, sha256, createdAt: new Date().toISOString() };
    await rename(tmp, path.join(this.dir, `${name}.bin`));
    await replaceFile(path.join(this.dir, `${name}.json`), JSON.stringify(manifest));
    await fsyncPath(this.dir, 'r'); // both renames durable before CURRENT can name them
    return manifest;
  }

  /** Removes every file of an uncommitted checkpoint `name`; never one of another name. */
  private async discard(name: string): Promise<void> {
    for (const file of [this.tempIndexPath(name), path.join(this.dir, `${name}.bin`), path.join(this.dir, `${name}.json`)]) {
      await unlink(file).catch(() => undefined);
    }
  }

  private tempIndexPath(name: string): string {
    return path.join(this.dir, `${name}.bin.tmp`);
  }

  private async currentName(): Promise<string | undefined> {
    const name = await readFile(path.join(this.dir, 'CURRENT'), 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    );
    return name !== undefined && NAME.test(name) ? name : undefined;
  }
}

/** What the index file of `manifest` must hold: its slots are the live labels plus the deleted ones. */
function shapeOf(manifest: ManifestFields): HnswFileShape {
  const { dimension, maxElements, params } = manifest;
  return { dimension, m: params.m, efConstruction: params.efConstruction, maxElements, count: manifest.count + manifest.deleted.length };
}

function parseManifest(name: string, raw: string): { manifest: Manifest } | { reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { reason: `manifest of ${name} is not JSON` };
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success || parsed.data.name !== name) return { reason: `manifest of ${name} is malformed` };
  return { manifest: parsed.data };
}

async function copyMismatch(copy: string, manifest: Manifest): Promise<string | undefined> {
  const { size, sha256, check } = await inspectHnswFile(copy, shapeOf(manifest));
  if (size !== manifest.size) return `index file is ${size} bytes, manifest says ${manifest.size}`;
  if (sha256 !== manifest.sha256) return 'index file checksum mismatch';
  return check.ok ? undefined : check.reason;
}
