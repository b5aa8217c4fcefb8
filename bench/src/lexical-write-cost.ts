/**
 * What the lexical index costs an ingest, without a switch to turn it off: the chunk-commit
 * transactions of a corpus (replaceDocumentChunks: chunks, vector_log and lexical entries) are
 * timed in-process on a fresh SQLite database, then the lexical entries of the same chunks alone
 * (writeLexicalEntries into the same table, under other ids, all in one transaction, so that no
 * commit is counted twice). Their ratio is the share of the commit time the index adds.
 */
import { rmSync } from 'node:fs';
import { loadConfig } from '../../shared/src/config.js';
import { replaceDocumentChunks } from '../../shared/src/db/chunks-repo.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { hashContent, upsertPendingDocument } from '../../shared/src/db/documents-repo.js';
import { writeLexicalEntries } from '../../shared/src/db/lexical-repo.js';
import { createLogger } from '../../shared/src/logger.js';
import { tempDataDir } from '../../test/support/service-processes.js';
import type { BenchContext } from './bench-context.js';
import type { EmbeddedCorpus } from './embed-corpus.js';
import type { CorpusDocument } from './factbook-corpus.js';

const OTHER_IDS = 1_000_000_000; // ids no chunk of this database has

export async function measureLexicalWriteCost(ctx: BenchContext, name: string, documents: readonly CorpusDocument[], embedded: EmbeddedCorpus): Promise<void> {
  const dataDir = tempDataDir('colmeia-bench-lexical-');
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', DATA_DIR: dataDir });
  const db = await openDatabase(config, createLogger(config, 'bench'));
  try {
    const byDocument = new Map<string, Array<{ text: string; embedding: number[] }>>();
    embedded.chunks.forEach((chunk, i) => {
      const list = byDocument.get(chunk.documentId) ?? [];
      list.push({ text: chunk.text, embedding: embedded.vectors[i] ?? [] });
      byDocument.set(chunk.documentId, list);
    });
    let commitMs = 0;
    for (const document of documents) {
      const chunks = byDocument.get(document.id) ?? [];
      const saved = await upsertPendingDocument(db, { id: document.id, text: document.text, metadata: {}, requestId: 'bench' });
      const started = performance.now();
      await replaceDocumentChunks(db, { documentId: document.id, revision: saved.revision, contentHash: hashContent(document.text), chunks });
      commitMs += performance.now() - started;
    }
    const started = performance.now();
    await db.transaction((trx) =>
      writeLexicalEntries(
        trx,
        embedded.chunks.map((chunk, i) => ({ id: OTHER_IDS + i, text: chunk.text })),
      ),
    );
    const lexicalMs = performance.now() - started;
    const share = lexicalMs / commitMs;
    ctx.book.add({
      id: `ingest.lexical.${name}`,
      section: '1 ingest',
      name: `lexical index share of the chunk-commit transaction, ${name} (${embedded.chunks.length} chunks, SQLite)`,
      unit: '%',
      value: 100 * share,
      notes: `commits ${commitMs.toFixed(0)} ms in all (${((embedded.chunks.length / commitMs) * 1_000).toFixed(0)} chunks/s), lexical entries alone ${lexicalMs.toFixed(0)} ms (${((embedded.chunks.length / lexicalMs) * 1_000).toFixed(0)} chunks/s); embedding the same chunks took ${embedded.embedMs.toFixed(0)} ms`,
      details: { commitMs, lexicalMs, embedMs: embedded.embedMs, chunks: embedded.chunks.length },
    });
  } finally {
    await db.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
