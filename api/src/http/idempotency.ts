/**
 * The Idempotency-Key header (IETF httpapi-idempotency-key draft): a client that retries a POST
 * with the same key gets the first response again, and the work (a stored message, a job) is not
 * done twice. Keys are scoped to the API key that sent them and stored as a digest together with
 * a digest of the request, so one key reused for a different request is refused (409), not replayed.
 * The claim, the work and the stored response commit in one transaction (idempotency-keys-repo.ts).
 */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { claimIdempotencyKey, completeIdempotencyKey } from '../../../shared/src/db/idempotency-keys-repo.js';
import { ConflictError, ValidationError } from '../../../shared/src/errors.js';
import { apiKeyIdOf } from './auth.js';

const HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/; // visible ASCII, as the draft's sf-string allows

/** The header's value, for the API description. */
export const IdempotencyKey = z.string().regex(KEY_PATTERN, 'must be 1-255 visible ASCII characters');

export interface IdempotentResult {
  statusCode: number;
  body: unknown;
  isReplay: boolean; // true: an earlier request with this key did the work; body is its response
}

export interface IdempotentRequest {
  key: string; // digest of the client's scope and its Idempotency-Key
  requestHash: string;
}

/** The request's idempotency identity, or undefined when it sent no Idempotency-Key. */
export function idempotentRequestOf(req: Request, res: Response, parsedBody: unknown): IdempotentRequest | undefined {
  const header = req.get(HEADER);
  if (header === undefined) return undefined;
  if (!KEY_PATTERN.test(header)) {
    const message = 'Idempotency-Key must be 1-255 visible ASCII characters';
    throw new ValidationError(message, [{ path: HEADER, rule: 'idempotency_key', message }]);
  }
  const scope = apiKeyIdOf(res) ?? 'anonymous';
  return { key: sha256(`${scope}\n${header}`), requestHash: sha256(JSON.stringify([req.method, req.path, parsedBody])) };
}

/**
 * Runs `work` once per idempotency key: a first request runs it (inside the claiming transaction)
 * and stores its response; a retry gets that response back with isReplay, and work does not run.
 */
export async function runIdempotent(
  db: Knex,
  request: IdempotentRequest | undefined,
  ttlMs: number,
  work: (db: Knex) => Promise<{ statusCode: number; body: unknown }>,
): Promise<IdempotentResult> {
  if (request === undefined) return { ...(await work(db)), isReplay: false };
  return db.transaction(async (trx) => {
    const earlier = await claimIdempotencyKey(trx, { key: request.key, requestHash: request.requestHash, ttlMs });
    if (earlier) {
      if (earlier.requestHash !== request.requestHash) {
        const message = 'this Idempotency-Key was already used for a different request';
        throw new ConflictError(message, [{ path: HEADER, rule: 'idempotency_key_reuse', message }]);
      }
      return { statusCode: earlier.statusCode, body: earlier.response, isReplay: true };
    }
    const result = await work(trx);
    await completeIdempotencyKey(trx, request.key, result.statusCode, result.body);
    return { ...result, isReplay: false };
  });
}

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
