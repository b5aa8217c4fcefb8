/**
 * The retrieval modes on two real corpora (DESIGN.md §12): each corpus is ingested through HTTP
 * into its own stack, then every task runs through POST /search in each mode next to BM25 on the
 * same chunk texts; the cost of the lexical index on writes is measured in-process beside it.
 * Part of the corpus phase, and alone as `--phases quality` (no push or profile ingest figures).
 */
import { openDatabase } from '../../shared/src/db/connection.js';
import { loadConfig } from '../../shared/src/config.js';
import { newStack, type BenchContext } from './bench-context.js';
import { embedCorpus, type EmbeddedCorpus } from './embed-corpus.js';
import type { Corpus, CorpusDocument, RetrievalQuery } from './factbook-corpus.js';
import { HttpClient } from './http-client.js';
import { ingestThroughHttp } from './ingest-through-http.js';
import { measureLexicalWriteCost } from './lexical-write-cost.js';
import { measureRetrievalModes, type ModeTask } from './retrieval-modes.js';
import { loadWordnetCorpus } from './wordnet-corpus.js';

/** The factbook tasks of an already running stack: held-out sentences, and the country's name for its Introduction. */
export function factbookTasks(corpus: Corpus): ModeTask[] {
  const ids = new Set(corpus.documents.map((document) => document.id));
  const byName: RetrievalQuery[] = corpus.profiles
    .map((profile) => ({ text: profile.title, relevantDocumentId: `${profile.id}-introduction`, country: profile.metadata.country }))
    .filter((query) => ids.has(query.relevantDocumentId));
  return [
    { id: 'factbook.sentence', description: `held-out Background sentence → its Introduction (${corpus.name} ${corpus.version})`, queries: corpus.queries },
    { id: 'factbook.name', description: 'known item: country name → its Introduction', queries: byName },
  ];
}

/** Both corpora, each on its own stack: factbook sections, then WordNet. */
export async function runRetrievalPhase(ctx: BenchContext, corpus: Corpus): Promise<void> {
  const config = loadConfig({});
  const factbook = await embedCorpus(corpus.documents, config);
  await measureCorpus(ctx, 'factbook', corpus.documents, factbook, factbookTasks(corpus));
  await measureSecondCorpus(ctx);
}

export async function measureSecondCorpus(ctx: BenchContext): Promise<void> {
  const wordnet = loadWordnetCorpus({ variant: ctx.plan.corpusVariant });
  const embedded = await embedCorpus(wordnet.documents, loadConfig({}));
  await measureCorpus(ctx, 'wordnet', wordnet.documents, embedded, [
    {
      id: 'wordnet.definition',
      description: `reverse dictionary: definition → its synset (${wordnet.name} ${wordnet.version} nouns)`,
      queries: wordnet.definitionQueries,
    },
    { id: 'wordnet.word', description: 'known item: first word of a synset → the synset', queries: wordnet.wordQueries },
  ]);
}

async function measureCorpus(
  ctx: BenchContext,
  name: string,
  documents: readonly CorpusDocument[],
  embedded: EmbeddedCorpus,
  tasks: ModeTask[],
): Promise<void> {
  const handle = newStack(ctx, `modes-${name}`);
  try {
    for (let i = 0; i < ctx.plan.workers; i++) await handle.stack.startWorker();
    await handle.stack.startWeb();
    const client = new HttpClient(handle.stack.url, ctx.apiKey);
    const db = await openDatabase(handle.config, handle.logger, { migrate: false });
    ctx.progress(
      `retrieval modes: ingest of ${documents.length} ${name} documents, then ${tasks.map((t) => `${t.queries.length} ${t.id}`).join(', ')} queries × 3 modes`,
    );
    const run = await ingestThroughHttp(db, client, documents, { concurrency: 8, timeoutMs: 30 * 60_000 });
    if (run.failed > 0) throw new Error(`${run.failed} ${name} documents failed to ingest`);
    client.close(); // the wait for `ready` left its sockets idle past the server's keep-alive timeout
    const searchClient = new HttpClient(handle.stack.url, ctx.apiKey);
    await measureRetrievalModes(ctx, searchClient, embedded.chunks, tasks);
    searchClient.close();
    await db.destroy();
  } finally {
    await handle.dispose();
  }
  await measureLexicalWriteCost(ctx, name, documents, embedded);
}
