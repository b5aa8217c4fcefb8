/**
 * Where a presented API key is looked up: env API_KEYS first (admin over every collection, compared
 * in constant time, no I/O), then the keys stored in SQL, found by the SHA-256 of the key (a 256-bit
 * random secret: its digest is a safe index) and compared again with timingSafeEqual. Every web
 * process reads the same rows, so a key created or revoked through one is honoured by all of them,
 * at once with API_KEY_CACHE_MS=0 (the default), else up to that many ms late.
 * Authentication is on when API_KEYS is set or a key was ever stored in SQL (a revoked one too).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { Config } from '../../../shared/src/config.js';
import { findLiveApiKey, hasStoredApiKeys, touchApiKey } from '../../../shared/src/db/api-keys-repo.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import { ALL_COLLECTIONS, principalFromScope, type Principal } from './access.js';
import { createApiKeyVerifier } from './api-key-verifier.js';

export interface KeyStore {
  /** Whether requests need a key: API_KEYS is set, or a key was ever stored in SQL. */
  isRequired(): Promise<boolean>;
  /** Who the presented key is, or undefined for no valid key. */
  verify(presented: string): Promise<Principal | undefined>;
}

const CACHE_MAX_ENTRIES = 10_000;
const LAST_USED_RESOLUTION_MS = 60_000; // last_used_at is written at most once a minute per key

export function createKeyStore(config: Pick<Config, 'API_KEYS' | 'API_KEY_CACHE_MS'>, db: Knex, logger: Logger): KeyStore {
  const envKeys = createApiKeyVerifier(config.API_KEYS);
  const cache = createTtlCache<Principal | undefined>(config.API_KEY_CACHE_MS);
  let isStored = false; // keys are revoked, never deleted: once one is seen, authentication stays on
  const lookUp = async (presented: string): Promise<Principal | undefined> => {
    const digest = sha256(presented);
    const hex = digest.toString('hex');
    const cached = cache.get(hex);
    if (cached.isHit) return cached.value;
    const row = await findLiveApiKey(db, hex);
    const principal = row && timingSafeEqual(Buffer.from(row.secretHash, 'hex'), digest) ? principalFromScope(row.id, row.role, row.collections) : undefined;
    cache.set(hex, principal);
    if (row && (row.lastUsedAt === null || Date.now() - Date.parse(row.lastUsedAt) > LAST_USED_RESOLUTION_MS)) {
      // bookkeeping only: a failed write loses one "last used" time, never the request
      touchApiKey(db, row.id).catch((err: unknown) => logger.warn('api key last-used time not saved', { keyId: row.id, err: serializeError(err) }));
    }
    return principal;
  };
  return {
    async isRequired() {
      if (envKeys.size > 0 || isStored) return true;
      isStored = await hasStoredApiKeys(db); // "none yet" is never cached: a key created through another web process counts at once
      return isStored;
    },
    async verify(presented) {
      const envKeyId = envKeys.verify(presented);
      if (envKeyId !== undefined) return { keyId: envKeyId, role: 'admin', collections: ALL_COLLECTIONS };
      return lookUp(presented);
    },
  };
}

/** A new key: its id (shown and logged), the secret (shown once) and the digest SQL keeps. */
export function generateApiKey(): { id: string; secret: string; secretHash: string } {
  const secret = `colmeia_${randomBytes(32).toString('base64url')}`;
  return { id: `key_${randomBytes(12).toString('hex')}`, secret, secretHash: sha256(secret).toString('hex') };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

interface TtlCache<T> {
  get(key: string): { isHit: true; value: T } | { isHit: false };
  set(key: string, value: T): void;
}

/** A map whose entries live ttlMs (0: nothing is kept), cleared when it reaches CACHE_MAX_ENTRIES. */
function createTtlCache<T>(ttlMs: number): TtlCache<T> {
  const entries = new Map<string, { value: T; until: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry || entry.until <= Date.now()) return { isHit: false };
      return { isHit: true, value: entry.value };
    },
    set(key, value) {
      if (ttlMs === 0) return;
      if (entries.size >= CACHE_MAX_ENTRIES) entries.clear();
      entries.set(key, { value, until: Date.now() + ttlMs });
    },
  };
}
