/**
 * A full disk during a checkpoint (RELIABILITY.md row D1), for real: the write runs in a child
 * process under a file-size limit (`ulimit -f`, with SIGXFSZ ignored), so hnswlib's writeIndex
 * leaves a short file and reports nothing, and our own writes fail with EFBIG.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';
import { openIndexFixture, type IndexFixture } from './index-fixture.js';

const execFileAsync = promisify(execFile);
const WRITER = fileURLToPath(new URL('./checkpoint-writer-process.js', import.meta.url));
const REPLACE_FILE = fileURLToPath(new URL('../src/vectors/replace-file.js', import.meta.url));

const WriterReport = z.strictObject({ source: z.enum(['checkpoint', 'rebuild']), seq: z.number(), checkpointSeq: z.number() });

interface GoodCheckpoint {
  dir: string; // the index directory
  name: string;
  seq: number;
  binBytes: number;
  binSha: string;
  manifestSha: string;
}

interface WriterRun {
  report: z.infer<typeof WriterReport>;
  stderr: string;
}

function docText(i: number): string {
  return `Field note ${i}: the hive at site ${i % 7} swarmed, marker q${(i * 7919).toString(36)}z.`;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** Runs `argv` (a node command line) under a file-size limit of `limitKb` KiB; SIGXFSZ ignored, so a write past it fails with EFBIG. */
async function runLimited(limitKb: number | 'unlimited', argv: string[]): Promise<{ stdout: string; stderr: string }> {
  const script = 'trap "" XFSZ; ulimit -f "$1" && shift && exec "$@"';
  return execFileAsync('bash', ['-c', script, 'bash', String(limitKb), process.execPath, ...argv], { timeout: 60_000 });
}

describe('a checkpoint whose index file is written short', () => {
  let fx: IndexFixture;
  let seeded = 0;

  before(async () => {
    fx = await openIndexFixture('sqlite', { BUILTIN_EMBED_DIM: '1024' }); // ~4 KB per element: index files well above the limits below
    await seed(60);
  });
  after(async () => {
    await fx.close();
  });

  async function seed(documents: number): Promise<void> {
    for (const end = seeded + documents; seeded < end; seeded++) await fx.seed(`note-${seeded}`, docText(seeded));
  }

  /** A checkpoint written in this process under `dataDir`, then new rows for the next one to hold. */
  async function goodCheckpoint(dataDir: string): Promise<GoodCheckpoint> {
    const index = await fx.openIndex({ DATA_DIR: dataDir });
    await index.checkpoint();
    await index.close();
    const dir = path.join(dataDir, 'index', 'default');
    const name = (await readFile(path.join(dir, 'CURRENT'), 'utf8')).trim();
    const bin = path.join(dir, `${name}.bin`);
    const good = {
      dir,
      name,
      seq: index.seq,
      binBytes: (await readFile(bin)).length,
      binSha: await sha256(bin),
      manifestSha: await sha256(path.join(dir, `${name}.json`)),
    };
    await seed(10);
    return good;
  }

  /** VectorIndex.load + checkpoint() in a child process under `limitKb`, over the fixture's database. */
  async function runWriter(dataDir: string, limitKb: number | 'unlimited'): Promise<WriterRun> {
    const env = { NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: fx.dataDir };
    const { stdout, stderr } = await runLimited(limitKb, [WRITER, JSON.stringify({ env, indexEnv: { ...env, DATA_DIR: dataDir } })]);
    return { report: WriterReport.parse(JSON.parse(stdout.trim())), stderr };
  }

  it('keeps CURRENT, the previous files and no temporary file, and the next start loads the previous checkpoint', async () => {
    const dataDir = path.join(fx.dataDir, 'short');
    const good = await goodCheckpoint(dataDir);
    const run = await runWriter(dataDir, Math.floor(good.binBytes / 2 / 1024));
    assert.equal(run.report.source, 'checkpoint');
    assert.ok(run.report.seq > good.seq, 'the writer had new rows to checkpoint');
    assert.equal(run.report.checkpointSeq, good.seq, 'the short checkpoint was not committed');
    assert.match(run.stderr, /checkpoint failed.*not whole/);
    assert.equal((await readFile(path.join(good.dir, 'CURRENT'), 'utf8')).trim(), good.name);
    assert.equal(await sha256(path.join(good.dir, `${good.name}.bin`)), good.binSha);
    assert.equal(await sha256(path.join(good.dir, `${good.name}.json`)), good.manifestSha);
    assert.deepEqual((await readdir(good.dir)).sort(), ['CURRENT', `${good.name}.bin`, `${good.name}.json`]);
    const fresh = await fx.openIndex({ DATA_DIR: dataDir });
    assert.equal(fresh.startup.source, 'checkpoint');
    assert.equal(fresh.size, seeded);
  });

  it('commits the checkpoint when the whole file fits, and keeps the previous one', async () => {
    const dataDir = path.join(fx.dataDir, 'fits');
    const good = await goodCheckpoint(dataDir);
    const run = await runWriter(dataDir, Math.ceil((good.binBytes * 2) / 1024));
    assert.ok(run.report.checkpointSeq > good.seq);
    assert.doesNotMatch(run.stderr, /checkpoint failed/);
    const name = (await readFile(path.join(good.dir, 'CURRENT'), 'utf8')).trim();
    assert.notEqual(name, good.name);
    assert.deepEqual((await readdir(good.dir)).sort(), ['CURRENT', `${good.name}.bin`, `${good.name}.json`, `${name}.bin`, `${name}.json`].sort());
  });
});

describe('replaceFile under a file-size limit', () => {
  it('fails and leaves neither a temporary file nor a changed target when the content does not fit', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'colmeia-replace-'));
    try {
      const target = path.join(dir, 'CURRENT');
      await writeFile(target, 'old');
      const program = `import { replaceFile } from ${JSON.stringify(pathToFileURL(REPLACE_FILE).href)};
        await replaceFile(${JSON.stringify(target)}, 'x'.repeat(8192)).then(() => process.stdout.write('written'), (err) => process.stdout.write(err.code));`;
      const { stdout } = await runLimited(4, ['--input-type=module', '-e', program]);
      assert.equal(stdout.trim(), 'EFBIG');
      assert.deepEqual(await readdir(dir), ['CURRENT']);
      assert.equal(await readFile(target, 'utf8'), 'old');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
