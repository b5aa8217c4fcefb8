/**
 * The key store over real databases (SQLite in a temp dir; Postgres in a private schema when
 * TEST_DATABASE_URL is set): env keys are admin over every collection and need no SQL; a stored key
 * is found by its secret with its role and scope, only its digest is stored, a revoked one is
 * refused at once by another store over the same database (another web process), authentication
 * stays on after the last key is revoked, and API_KEY_CACHE_MS bounds how late a store may be.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { loadConfig } from '../../shared/src/config.js';
import { insertApiKey, listApiKeys, revokeApiKey } from '../../shared/src/db/api-keys-repo.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { createLogger } from '../../shared/src/logger.js';
import { createPostgresSchema, type PostgresSchema } from '../../test/support/postgres-schema.js';
import { waitFor } from '../../test/support/wait-for.js';
import { ALL_COLLECTIONS } from '../src/http/access.js';
import { apiKeyId } from '../src/http/api-key-verifier.js';
import { createKeyStore, generateApiKey } from '../src/http/key-store.js';

const BACKENDS = ['sqlite', ...(process.env['TEST_DATABASE_URL'] ? ['postgres' as const] : [])] as const;
const ENV_KEY = 'env-admin-key-0123456789abcdef';

for (const backend of BACKENDS) {
  describe(`the key store on ${backend}`, () => {
    let db: Knex;
    let dataDir: string;
    let schema: PostgresSchema | undefined;
    const logger = createLogger(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error' }), 'test');
    const storeConfig = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', ...env });
    const storedKey = async (role: 'read' | 'write' | 'admin', collections: string[]) => {
      const key = generateApiKey();
      await insertApiKey(db, { id: key.id, secretHash: key.secretHash, name: `${role} key`, role, collections });
      return key;
    };

    before(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'colmeia-key-store-'));
      schema = backend === 'postgres' ? await createPostgresSchema(process.env['TEST_DATABASE_URL'] ?? '') : undefined;
      const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', DATA_DIR: dataDir, ...(schema ? { DATABASE_URL: schema.url } : {}) });
      db = await openDatabase(config, logger);
    });
    after(async () => {
      await db.destroy();
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('needs no key while neither API_KEYS nor a stored key exists, and one from the first stored key on', async () => {
      const store = createKeyStore(storeConfig({}), db, logger);
      assert.equal(await store.isRequired(), false);
      const key = await storedKey('read', ['default']);
      assert.equal(await store.isRequired(), true, 'a key created through another process counts at once');
      await revokeApiKey(db, key.id);
      assert.equal(await createKeyStore(storeConfig({}), db, logger).isRequired(), true, 'revoking the last key does not open the service');
    });

    it('takes an env key as admin over every collection', async () => {
      const store = createKeyStore(storeConfig({ API_KEYS: ENV_KEY }), db, logger);
      assert.equal(await store.isRequired(), true);
      assert.deepEqual(await store.verify(ENV_KEY), { keyId: apiKeyId(ENV_KEY), role: 'admin', collections: ALL_COLLECTIONS });
      assert.equal(await store.verify(`${ENV_KEY}x`), undefined);
    });

    it('finds a stored key by its secret, with its role and scope, and keeps only its digest', async () => {
      const store = createKeyStore(storeConfig({ API_KEYS: ENV_KEY }), db, logger);
      const reader = await storedKey('read', ['handbook', 'notes']);
      const writer = await storedKey('write', [ALL_COLLECTIONS]);
      assert.match(reader.secret, /^colmeia_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(await store.verify(reader.secret), { keyId: reader.id, role: 'read', collections: ['handbook', 'notes'] });
      assert.deepEqual(await store.verify(writer.secret), { keyId: writer.id, role: 'write', collections: ALL_COLLECTIONS });
      for (const wrong of [reader.secret.slice(0, -1), `${reader.secret}A`, reader.id, reader.secretHash, ''])
        assert.equal(await store.verify(wrong), undefined);
      const rows = JSON.stringify(await db('api_keys').select());
      assert.ok(!rows.includes(reader.secret) && !rows.includes(writer.secret), 'no secret is stored');
      assert.ok(rows.includes(createHash('sha256').update(reader.secret).digest('hex')));
    });

    it('refuses a revoked key at once in every store over the database, and records the last use', async () => {
      const web1 = createKeyStore(storeConfig({}), db, logger);
      const web2 = createKeyStore(storeConfig({}), db, logger);
      const key = await storedKey('admin', ['default']);
      assert.equal((await web1.verify(key.secret))?.keyId, key.id);
      assert.equal((await web2.verify(key.secret))?.keyId, key.id);
      await revokeApiKey(db, key.id);
      assert.equal(await web1.verify(key.secret), undefined);
      assert.equal(await web2.verify(key.secret), undefined);
      const listed = async () => (await listApiKeys(db)).find((k) => k.id === key.id);
      assert.notEqual((await listed())?.revokedAt, null);
      await waitFor(async () => (await listed())?.lastUsedAt !== null, { timeoutMs: 5_000, what: 'the last use to be recorded' });
    });

    it('trusts what it read for API_KEY_CACHE_MS at most', async () => {
      const cached = createKeyStore(storeConfig({ API_KEY_CACHE_MS: '60000' }), db, logger);
      const key = await storedKey('read', ['default']);
      assert.equal((await cached.verify(key.secret))?.keyId, key.id);
      await revokeApiKey(db, key.id);
      assert.equal((await cached.verify(key.secret))?.keyId, key.id, 'within the cache time the revocation is not seen yet');
      assert.equal(await createKeyStore(storeConfig({}), db, logger).verify(key.secret), undefined);
      assert.throws(() => storeConfig({ API_KEY_CACHE_MS: '60001' }), /API_KEY_CACHE_MS/);
    });
  });
}
