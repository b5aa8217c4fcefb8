/**
 * Real parts for index tests: a database (a SQLite file in a temp dir, or a private Postgres
 * schema), the builtin embedder, and VectorIndex instances over them, as the worker composes them.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../../shared/src/config.js';
import { createLogger, type Logger } from '../../shared/src/logger.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { claimIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { hashContent, upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { replaceDocumentChunks } from '../../shared/src/db/chunks-repo.js';
import { recordRemovalTargets, removeRecordedTargets } from '../../shared/src/db/removals-repo.js';
import { createPostgresSchema, type PostgresSchema } from '../../test/support/postgres-schema.js';
import { createBuiltinEmbedder } from '../src/embedders/builtin.js';
import type { Embedder } from '../src/embedders/embedder.js';
import { chunkText } from '../src/chunk-text.js';
import { VectorIndex } from '../src/vectors/vector-index.js';

export const BACKENDS = ['sqlite', ...(process.env['TEST_DATABASE_URL'] ? ['postgres' as const] : [])] as const;
export type Backend = (typeof BACKENDS)[number];

export interface IndexFixture {
  config: Config;
  db: Knex;
  embedder: Embedder;
  logger: Logger;
  dataDir: string;
  openIndex(overrides?: Record<string, string>): Promise<VectorIndex>;
  seed(id: string, text: string, metadata?: Record<string, unknown>): Promise<number>;
  remove(id: string): Promise<number>;
  close(): Promise<void>;
}

export async function openIndexFixture(backend: Backend, env: Record<string, string> = {}): Promise<IndexFixture> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'colmeia-index-'));
  const schema: PostgresSchema | undefined = backend === 'postgres' ? await createPostgresSchema(process.env['TEST_DATABASE_URL'] ?? '') : undefined;
  const baseEnv = { NODE_ENV: 'test', LOG_LEVEL: 'error', DATA_DIR: dataDir, ...(schema ? { DATABASE_URL: schema.url } : {}), ...env };
  const config = loadConfig(baseEnv);
  const logger = createLogger(config, 'test');
  const db = await openDatabase(config, logger);
  const embedder = createBuiltinEmbedder(config.BUILTIN_EMBED_DIM);
  const meta = await claimIndexMeta(db, embedder.id, embedder.dimension);
  const opened: VectorIndex[] = [];
  return {
    config,
    db,
    embedder,
    logger,
    dataDir,
    async openIndex(overrides = {}) {
      const indexConfig = loadConfig({ ...baseEnv, ...overrides });
      const index = await VectorIndex.load(indexConfig, db, { embedder: embedder.id, dimension: embedder.dimension, instanceId: meta.instanceId }, logger);
      opened.push(index);
      return index;
    },
    async seed(id, text, metadata = {}) {
      const saved = await upsertPendingDocument(db, { id, text, metadata, requestId: 'test' });
      const texts = chunkText(text, { size: config.CHUNK_SIZE, overlap: config.CHUNK_OVERLAP });
      const vectors = await embedder.embed(texts);
      const chunks = texts.map((chunk, i) => ({ text: chunk, embedding: vectors[i] ?? [] }));
      const outcome = await replaceDocumentChunks(db, {
        documentId: id,
        revision: saved.revision,
        contentHash: hashContent(text),
        chunks,
      });
      return outcome.status === 'replaced' ? outcome.chunks : 0;
    },
    async remove(id) {
      const jobId = `remove:${randomUUID()}`;
      await recordRemovalTargets(db, jobId, { documentId: id });
      return (await removeRecordedTargets(db, jobId, false, async () => undefined)).chunks;
    },
    async close() {
      for (const index of opened) await index.close();
      await db.destroy();
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
