import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, PRODUCTION_RATE_LIMIT_MAX, rateLimitMaxOf } from '../src/config.js';

describe('the rate limit setting', () => {
  it('is off by default outside production, so a local run can load thousands of files', () => {
    assert.equal(rateLimitMaxOf(loadConfig({})), 0);
    assert.equal(rateLimitMaxOf(loadConfig({ NODE_ENV: 'test' })), 0);
  });

  it('keeps a limit in production unless one is set', () => {
    assert.equal(rateLimitMaxOf(loadConfig({ NODE_ENV: 'production', API_KEYS: 'k' })), PRODUCTION_RATE_LIMIT_MAX);
    assert.equal(rateLimitMaxOf(loadConfig({ NODE_ENV: 'production', API_KEYS: 'k', RATE_LIMIT_MAX: '50' })), 50);
    assert.equal(rateLimitMaxOf(loadConfig({ NODE_ENV: 'production', API_KEYS: 'k', RATE_LIMIT_MAX: '0' })), 0);
  });

  it('takes an explicit limit in development too', () => {
    assert.equal(rateLimitMaxOf(loadConfig({ RATE_LIMIT_MAX: '50' })), 50);
  });
});
