/**
 * Whether a document's own words find it, asked so that ranking cannot hide it: every revision the
 * load posts carries a unique `seed` in its metadata, and its text is made of words derived from that
 * seed. A search with `where: {seed}` for those words, once in vector mode (the answering worker's
 * HNSW index, restricted to the chunks committed with that metadata) and once in lexical mode (the
 * SQL index), must return the document on both sides when it is ready, and on neither once a
 * removal of it succeeded. Among many similar documents an unfiltered top-k may rank a ready one
 * out; these two searches cannot, so a miss is the index, not the ranking.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ChaosClient } from './http-client.js';

export const SEARCH_K = 10;
export const SIDES = ['vector', 'lexical'] as const;
export type Side = (typeof SIDES)[number];
export type SideHits = Record<Side, string[]>; // document ids of each side's hits

/** Both filtered searches for `seed`'s words, at once; undefined when either never answered 200. */
export async function searchOwnWords(client: ChaosClient, seed: string): Promise<SideHits | undefined> {
  const [vector, lexical] = await Promise.all(SIDES.map((mode) => searchIds(client, { query: queryFor(seed), k: SEARCH_K, mode, where: { seed } })));
  return vector === undefined || lexical === undefined ? undefined : { vector, lexical };
}

/** The sides whose hits lack `documentId`. */
export function sidesMissing(hits: SideHits, documentId: string): Side[] {
  return SIDES.filter((side) => !hits[side].includes(documentId));
}

/** The sides whose hits include `documentId`. */
export function sidesFinding(hits: SideHits, documentId: string): Side[] {
  return SIDES.filter((side) => hits[side].includes(documentId));
}

/** The ids of POST /search's hits, retried through 503/504/no reply a few times; undefined if it never answered. */
export async function searchIds(client: ChaosClient, body: Record<string, unknown>): Promise<string[] | undefined> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const reply = await client.post('/search', body);
    if (reply.status === 200) return ((reply.body as { results?: Array<{ documentId: string }> }).results ?? []).map((hit) => hit.documentId);
    await delay(300);
  }
  return undefined;
}

/** Words that only this seed's text has (the first chunk holds them), plus common filler. */
export function documentText(seed: string, chars: number): string {
  const words: string[] = [];
  let length = 0;
  for (let i = 0; length < chars; i++) {
    const word = `${seed}q${i % 89} ${FILLER[i % FILLER.length] ?? ''}`;
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ');
}

export function queryFor(seed: string): string {
  return Array.from({ length: 6 }, (_, i) => `${seed}q${i}`).join(' ');
}

/** The seed a text of documentText was made from (its first word without `q0`), if it is one. */
export function seedOfText(text: string): string | undefined {
  const first = /^(\S+)q0(?:\s|$)/.exec(text);
  return first?.[1];
}

const FILLER = ['hive', 'honey', 'comb', 'queen', 'drone', 'nectar', 'pollen', 'swarm', 'wax', 'brood', 'frame', 'smoke'];
