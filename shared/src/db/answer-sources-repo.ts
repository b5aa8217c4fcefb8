/**
 * All SQL on answer_sources: what each answer was given to read, with the quoted text as it was
 * when the answer was made. Rows are written in the transaction that stores the answer (chat-repo's
 * insertReply), so an answer never exists without its sources, and they go with their message.
 */
import type { Knex } from 'knex';
import { hasPreparedStatements, preparedRuns } from './prepared-statements.js';

export interface AnswerSource {
  n: number; // the answer cites it as [n]
  documentId: string;
  revision: number | null; // the document revision whose text the chunk was cut from; null for chunks older than recorded revisions
  chunkId: number;
  ordinal: number | null; // the chunk's position in that revision; null when it was replaced before the answer was stored
  span: { start: number; end: number } | null; // [start, end) in that revision's text, UTF-16 code units
  score: number;
  vectorScore: number | null;
  title: string | null;
  quote: string; // the chunk's text, at most MAX_SOURCE_QUOTE_CHARS
  quoteChars: number; // length of the chunk's whole text: more than quote's when it was cut
}

interface SourceRow {
  source_number: number;
  document_id: string;
  revision: number | null;
  chunk_id: number | string;
  ordinal: number | null;
  char_start: number | null;
  char_end: number | null;
  score: number;
  vector_score: number | null;
  title: string | null;
  quote: string;
  quote_chars: number;
}

const BATCH = 200;

/** Call it inside the transaction that inserts the message. */
export async function insertAnswerSources(trx: Knex, messageId: number, sources: readonly AnswerSource[]): Promise<void> {
  const rows = sources.map((source) => ({
    message_id: messageId,
    source_number: source.n,
    document_id: source.documentId,
    revision: source.revision,
    chunk_id: source.chunkId,
    ordinal: source.ordinal,
    char_start: source.span?.start ?? null,
    char_end: source.span?.end ?? null,
    score: source.score,
    vector_score: source.vectorScore,
    title: source.title,
    quote: source.quote,
    quote_chars: source.quoteChars,
  }));
  if (hasPreparedStatements(trx)) {
    await preparedRuns(
      trx,
      INSERT_SOURCE_SQL,
      rows.map((row) => SOURCE_COLUMNS.map((column) => row[column] ?? null)),
    );
    return;
  }
  for (let start = 0; start < rows.length; start += BATCH) await trx('answer_sources').insert(rows.slice(start, start + BATCH));
}

// Written on the push path, before the answer's event: on SQLite one prepared insert per source.
const SOURCE_COLUMNS = [
  'message_id',
  'source_number',
  'document_id',
  'revision',
  'chunk_id',
  'ordinal',
  'char_start',
  'char_end',
  'score',
  'vector_score',
  'title',
  'quote',
  'quote_chars',
] as const;
const INSERT_SOURCE_SQL = `insert into answer_sources (${SOURCE_COLUMNS.join(', ')}) values (${SOURCE_COLUMNS.map(() => '?').join(', ')})`;

/** An answer's sources in the order it numbered them. */
export async function listAnswerSources(db: Knex, messageId: number): Promise<AnswerSource[]> {
  const rows = (await db('answer_sources').select('*').where({ message_id: messageId }).orderBy('source_number')) as SourceRow[];
  return rows.map((row) => ({
    n: row.source_number,
    documentId: row.document_id,
    revision: row.revision,
    chunkId: Number(row.chunk_id),
    ordinal: row.ordinal,
    span: row.char_start === null || row.char_end === null ? null : { start: row.char_start, end: row.char_end },
    score: Number(row.score),
    vectorScore: row.vector_score === null ? null : Number(row.vector_score),
    title: row.title,
    quote: row.quote,
    quoteChars: row.quote_chars,
  }));
}
