/**
 * One worker's checkpoint write in a process of its own, so that a test can run it under a
 * file-size limit (`ulimit -f`): hnswlib's writeIndex then leaves a short file and reports nothing,
 * as on a full disk. Node ignores SIGXFSZ, so a write past the limit fails with EFBIG instead of
 * killing the process. It only reads the database (no migration), so the limit touches nothing but
 * the index directory. Argument: JSON `{ env, indexEnv }`; prints one JSON line after checkpoint().
 * Run by checkpoint-short-write.int.test.ts; it is a program, not a module to import.
 */
import { z } from 'zod';
import { loadConfig } from '../../shared/src/config.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { readIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { createLogger } from '../../shared/src/logger.js';
import { VectorIndex } from '../src/vectors/vector-index.js';

const Args = z.strictObject({ env: z.record(z.string(), z.string()), indexEnv: z.record(z.string(), z.string()) });

async function main(): Promise<void> {
  const args = Args.parse(JSON.parse(process.argv[2] ?? '{}'));
  const config = loadConfig(args.env);
  const logger = createLogger(config, 'checkpoint-writer');
  const db = await openDatabase(config, logger, { migrate: false });
  const meta = await readIndexMeta(db);
  if (!meta) throw new Error('the database has no index_meta row');
  const index = await VectorIndex.load(loadConfig(args.indexEnv), db, meta, logger);
  await index.checkpoint();
  const report = { source: index.startup.source, seq: index.seq, checkpointSeq: index.stats().checkpointSeq };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  await index.close();
  await db.destroy();
}

await main();
