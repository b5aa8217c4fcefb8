import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Config } from '../src/config.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every configuration variable in its table', () => {
    const missing = Object.keys(Config.shape).filter((name) => !readme.includes(`| \`${name}\` |`));
    assert.deepEqual(missing, [], 'run `node scripts/config-table.mjs` and paste the table');
  });

  it('has every configuration variable in .env.example', () => {
    const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    const missing = Object.keys(Config.shape).filter((name) => !new RegExp(`^# ${name}=`, 'm').test(example));
    assert.deepEqual(missing, [], 'run `node scripts/config-table.mjs --env > .env.example`');
  });

  it('names the two commands of the quick start', () => {
    assert.match(readme, /npm run dev/);
    assert.match(readme, /npm test/);
  });
});
