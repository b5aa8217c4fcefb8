/**
 * `npm run reindex`: re-embeds every chunk with the embedder this process is configured with
 * (e.g. EMBEDDER=ollama EMBED_MODEL=…), while running workers keep serving searches from the old
 * vectors; then swaps all embeddings and the recorded embedder in one transaction. Running workers
 * see the swap in vector_log and stop; start them with the new embedder and they rebuild their index.
 */
import { loadConfigOrExit } from '../../shared/src/config.js';
import { createLogger, serializeError } from '../../shared/src/logger.js';
import { openDatabase } from '../../shared/src/db/connection.js';
import { readIndexMeta } from '../../shared/src/db/index-meta-repo.js';
import { clearStagedEmbeddings, readUnstagedChunks, stageEmbeddings, switchEmbeddings } from '../../shared/src/db/reindex-repo.js';
import { createEmbedder } from './embedders/create-embedder.js';
import type { Embedder } from './embedders/embedder.js';

const config = loadConfigOrExit();
const logger = createLogger(config, 'reindex');
const db = await openDatabase(config, logger);
try {
  const embedder = await createEmbedder(config, logger);
  const recorded = await readIndexMeta(db);
  if (recorded?.embedder === embedder.id) {
    logger.info('nothing to reindex: the database already uses this embedder', { embedder: embedder.id });
  } else {
    const started = performance.now();
    await clearStagedEmbeddings(db);
    let staged = 0;
    for (let afterId = 0; ;) {
      const chunks = await readUnstagedChunks(db, afterId, config.EMBED_BATCH_SIZE);
      if (chunks.length === 0) break;
      const vectors = await embedTexts(embedder, chunks);
      await stageEmbeddings(
        db,
        chunks.map((chunk, i) => ({ id: chunk.id, embedding: vectors[i] ?? [] })),
      );
      staged += chunks.length;
      afterId = chunks[chunks.length - 1]?.id ?? afterId;
      if (staged % (config.EMBED_BATCH_SIZE * 50) < chunks.length) logger.info('reindex progress', { staged });
    }
    const switched = await switchEmbeddings(db, embedder, (chunks) => embedTexts(embedder, chunks));
    logger.info('reindex done: restart workers with the new embedder', {
      from: recorded?.embedder ?? null,
      to: embedder.id,
      chunks: switched.chunks,
      durationMs: Math.round(performance.now() - started),
    });
  }
  await embedder.close();
} catch (err) {
  logger.error('reindex failed; nothing was switched', { err: serializeError(err) });
  process.exitCode = 1;
} finally {
  await db.destroy();
}

function embedTexts(embedder: Embedder, chunks: Array<{ text: string }>): Promise<number[][]> {
  return embedder.embed(chunks.map((chunk) => chunk.text));
}
