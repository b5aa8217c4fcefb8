/**
 * Proves an hnswlib index file whole before anything trusts it. hnswlib's saveIndex writes through
 * a bare ofstream and reports no short write (a full disk, a file-size limit), and a failed
 * readIndex leaves a freed pointer behind (RELIABILITY.md item 7, row D1). So a file is whole only
 * if its header holds the parameters and element count of the index it claims to be, and its
 * length is exactly what hnswlib's layout (hnswalg.h saveIndex) gives for them:
 *   96 header bytes
 *   + count × ((2M + 1) × 4 + dimension × 4 + 8)   level-0 links, vector and label per element
 *   + count × 4 + Σ upper-level link bytes           a uint32 size per element, then that many bytes,
 *                                                    a multiple of (M + 1) × 4
 * The level of each element is random, so the last term is read from the file's own size fields.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface HnswFileShape {
  dimension: number;
  m: number;
  efConstruction: number;
  maxElements: number;
  count: number; // slots in use: live labels plus those marked deleted
}

export type HnswFileCheck = { ok: true; size: number } | { ok: false; reason: string };

/** What one read of an index file tells: its length, its sha256 and whether its layout is the shape's. */
export interface HnswFileInspection {
  size: number;
  sha256: string;
  check: HnswFileCheck;
}

const HEADER_BYTES = 96;
const UINT32_BYTES = 4;
const LABEL_BYTES = 8; // hnswlib labeltype is size_t
const READ_CHUNK_BYTES = 1 << 20;

/**
 * Reads `file` once, hashing every byte and keeping only the header and the upper-level link
 * section (from the end of the level-0 block on), then checks the layout against `shape`: the
 * header fields first, then the exact length the layout needs. One pass, so verifying a checkpoint
 * costs one read of the file whatever else is checked.
 */
export async function inspectHnswFile(file: string, shape: HnswFileShape): Promise<HnswFileInspection> {
  const hash = createHash('sha256');
  const linksAt = HEADER_BYTES + shape.count * levelZeroBytes(shape);
  const headerParts: Buffer[] = [];
  const linkParts: Buffer[] = [];
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK_BYTES })) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    if (size < HEADER_BYTES) headerParts.push(Buffer.from(buffer.subarray(0, HEADER_BYTES - size)));
    const end = size + buffer.length;
    if (end > linksAt) linkParts.push(Buffer.from(buffer.subarray(Math.max(0, linksAt - size))));
    size = end;
  }
  return { size, sha256: hash.digest('hex'), check: checkLayout(size, Buffer.concat(headerParts), Buffer.concat(linkParts), shape, linksAt) };
}

function checkLayout(size: number, header: Buffer, links: Buffer, shape: HnswFileShape, linksAt: number): HnswFileCheck {
  if (header.length < HEADER_BYTES) return { ok: false, reason: `index file is ${size} bytes, shorter than its header` };
  const mismatch = headerMismatch(header, shape);
  if (mismatch) return { ok: false, reason: mismatch };
  const upper = upperLinkBytes(links, shape);
  if (upper === undefined) return { ok: false, reason: 'index file holds a link list of impossible size' };
  const expected = linksAt + upper;
  if (expected !== size) return { ok: false, reason: `index file is ${size} bytes, its ${shape.count} elements need ${expected}` };
  return { ok: true, size };
}

function levelZeroBytes(shape: HnswFileShape): number {
  return (2 * shape.m + 1) * UINT32_BYTES + shape.dimension * 4 + LABEL_BYTES;
}

/** The header as saveIndex writes it: size_t fields, then maxlevel and the entry point (4 bytes each), then M, mult, ef. */
function headerMismatch(header: Buffer, shape: HnswFileShape): string | undefined {
  const linksLevel0 = (2 * shape.m + 1) * UINT32_BYTES;
  const expected: Array<[string, number, number]> = [
    ['offsetLevel0', 0, 0],
    ['maxElements', 8, shape.maxElements],
    ['count', 16, shape.count],
    ['bytesPerElement', 24, levelZeroBytes(shape)],
    ['labelOffset', 32, linksLevel0 + shape.dimension * 4],
    ['dataOffset', 40, linksLevel0],
    ['maxM', 56, shape.m],
    ['maxM0', 64, 2 * shape.m],
    ['M', 72, shape.m],
    ['efConstruction', 88, shape.efConstruction],
  ];
  for (const [field, at, want] of expected) {
    const found = header.readBigUInt64LE(at);
    if (found !== BigInt(want)) return `index file header has ${field} ${found}, expected ${want}`;
  }
  return undefined;
}

/**
 * Walks the per-element size fields of the upper-level links and returns the bytes they occupy;
 * where the file ends early, each missing element still needs its 4-byte size field, so the
 * result is then larger than what is there. Undefined when a size field is no whole number of levels.
 */
function upperLinkBytes(links: Buffer, shape: HnswFileShape): number | undefined {
  const perLevel = (shape.m + 1) * UINT32_BYTES;
  let offset = 0;
  for (let i = 0; i < shape.count; i++) {
    if (offset + UINT32_BYTES > links.length) return offset + (shape.count - i) * UINT32_BYTES;
    const bytes = links.readUInt32LE(offset);
    if (bytes % perLevel !== 0) return undefined;
    offset += UINT32_BYTES + bytes;
  }
  return offset;
}
