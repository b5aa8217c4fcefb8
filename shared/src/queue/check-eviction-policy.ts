/**
 * Start-up check of Redis's maxmemory-policy. With any policy but
 * `noeviction`, Redis under memory pressure may drop a job's hash and Bee-Queue then skips that job
 * silently; the start-up sweep finds its document again, but slowly. So web and worker say so with a
 * warn line. Hosted Redis often forbids CONFIG: then the line says the policy could not be checked.
 * Never fatal, and it never delays start-up: the caller does not wait for it.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { withTimeout } from '../time-limits.js';
import type { Logger } from '../logger.js';

const CHECK_TIMEOUT_MS = 5_000;
const ConfigReply = z.array(z.string()); // CONFIG GET answers [name, value, ...]

export type EvictionPolicyCheck = { status: 'ok' | 'evicting'; policy: string } | { status: 'unknown'; reason: string };

export async function checkEvictionPolicy(redis: Redis, logger: Logger): Promise<EvictionPolicyCheck> {
  const check = await readEvictionPolicy(redis);
  if (check.status === 'unknown') {
    logger.warn('redis maxmemory-policy could not be checked; make sure it is noeviction', { reason: check.reason });
  } else if (check.status === 'evicting') {
    logger.warn('redis maxmemory-policy is not noeviction: under memory pressure Redis may drop queued jobs (the sweep re-enqueues their documents later)', {
      policy: check.policy,
    });
  } else {
    logger.info('redis maxmemory-policy is noeviction', { policy: check.policy });
  }
  return check;
}

async function readEvictionPolicy(redis: Redis): Promise<EvictionPolicyCheck> {
  try {
    const reply = ConfigReply.parse(await withTimeout(redis.config('GET', 'maxmemory-policy'), CHECK_TIMEOUT_MS, 'redis did not answer CONFIG GET'));
    const policy = reply[1];
    if (policy === undefined) return { status: 'unknown', reason: 'CONFIG GET returned no maxmemory-policy (CONFIG may be renamed or restricted)' };
    return { status: policy === 'noeviction' ? 'ok' : 'evicting', policy };
  } catch (err) {
    return { status: 'unknown', reason: err instanceof Error ? err.message : String(err) };
  }
}
