/**
 * A migrated database for a repository test: a SQLite file in a fresh temp dir, or a private schema
 * of TEST_DATABASE_URL on Postgres (the backends run whenever it is set). close() ends the
 * connection and removes both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { openDatabase } from '../src/db/connection.js';
import { createPostgresSchema } from '../../test/support/postgres-schema.js';

export const DATABASE_BACKENDS = ['sqlite', ...(process.env['TEST_DATABASE_URL'] ? ['postgres' as const] : [])] as const;
export type DatabaseBackend = (typeof DATABASE_BACKENDS)[number];

export interface TestDatabase {
  db: Knex;
  close(): Promise<void>;
}

export async function openTestDatabase(backend: DatabaseBackend, prefix = 'colmeia-db-'): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  const schema = backend === 'postgres' ? await createPostgresSchema(process.env['TEST_DATABASE_URL'] ?? '') : undefined;
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', DATA_DIR: dataDir, ...(schema ? { DATABASE_URL: schema.url } : {}) });
  const db = await openDatabase(config, createLogger(config, 'test'));
  return {
    db,
    async close() {
      await db.destroy();
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
