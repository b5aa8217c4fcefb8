/**
 * The env API_KEYS check. Keys are compared as SHA-256 digests with timingSafeEqual, so the time
 * taken depends neither on how much of a key matches nor on its length (timingSafeEqual throws on
 * unequal lengths; digests are always 32 bytes), and every configured key is compared, matched or
 * not. A key is never logged or echoed: it is named by its id (the first 8 hex digits of its SHA-256).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface ApiKeyVerifier {
  /** How many keys are configured. */
  readonly size: number;
  /** The id of the configured key equal to `presented`, or undefined. */
  verify(presented: string): string | undefined;
}

/** Hashes the configured keys once; verify() hashes the presented one and compares it with all of them. */
export function createApiKeyVerifier(keys: readonly string[]): ApiKeyVerifier {
  const configured = keys.map((key) => ({ digest: sha256(key), id: apiKeyId(key) }));
  return {
    size: configured.length,
    verify(presented) {
      const digest = sha256(presented);
      let matched: string | undefined;
      for (const key of configured) {
        if (timingSafeEqual(digest, key.digest) && matched === undefined) matched = key.id; // no early exit
      }
      return matched;
    },
  };
}

/** The non-secret name of an env key: 8 hex digits of its SHA-256 (32 bits say nothing useful about a long random key). */
export function apiKeyId(key: string): string {
  return sha256(key).toString('hex').slice(0, 8);
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
