/**
 * All SQL on chat_sessions and chat_messages: the durable log that SSE replays and polling read.
 * Within one session, message ids commit in id order (Postgres: a per-session advisory lock taken
 * before the id is drawn; SQLite: BEGIN IMMEDIATE already serialises writers), so a reader that has
 * seen message N of a session has seen every earlier one. Each insert reports the session's previous
 * message id (prevId), which lets a pushed event say whether anything came in between.
 * An assistant message is unique per question (reply_to UNIQUE): insert-or-ignore, then read back;
 * its sources (answer-sources-repo.ts) are written in the same transaction, by the insert that won.
 */
import type { Knex } from 'knex';
import { fromJsonColumn, nowMs, toJsonColumn } from './columns.js';
import { dialectOf } from './connection.js';
import { DEFAULT_COLLECTION } from '../input.js';
import { insertAnswerSources, type AnswerSource } from './answer-sources-repo.js';
import { hasPreparedStatements, preparedRows } from './prepared-statements.js';

const SESSION_LOCK_CLASS = 0x63686174; // "chat": first key of pg_advisory_xact_lock(int, int)

export type ChatRole = 'user' | 'assistant';

export interface ChatSession {
  id: string;
  title: string | null;
  createdAt: string;
}

export interface ChatMessage {
  id: number;
  sessionId: string;
  role: ChatRole;
  content: string;
  metadata: Record<string, unknown>;
  replyTo: number | null; // for assistant messages: the user message answered
  createdAt: string; // ISO time with milliseconds, stamped when the row was written
}

/** A message as stored, the session's message before it, and whether this call inserted it. */
export interface StoredMessage {
  message: ChatMessage;
  prevId: number; // 0 when it is the session's first message
  isNew: boolean; // false: a reply to the same question already existed, and `message` is that one
}

interface MessageRow {
  id: number;
  session_id: string;
  role: ChatRole;
  content: string;
  metadata: unknown;
  reply_to: number | null;
  created_at: number | string;
}

const MESSAGE_COLUMNS = ['id', 'session_id', 'role', 'content', 'metadata', 'reply_to', 'created_at'] as const;

/** Creates a session in a collection; undefined when the id is taken (session ids are unique across collections). */
export async function createChatSession(db: Knex, input: { id: string; title: string | null; collection?: string }): Promise<ChatSession | undefined> {
  const row = { id: input.id, title: input.title, created_at: nowMs() };
  const inserted: Array<{ id: string }> = await db('chat_sessions')
    .insert({ ...row, collection_id: input.collection ?? DEFAULT_COLLECTION })
    .onConflict('id')
    .ignore()
    .returning(['id']);
  return inserted.length === 0 ? undefined : toSession(row);
}

/** The session, if it exists in `collection`: a session of another collection is not found. */
export async function findChatSession(db: Knex, id: string, collection = DEFAULT_COLLECTION): Promise<ChatSession | undefined> {
  const row = (await db('chat_sessions').select('id', 'title', 'created_at').where({ id, collection_id: collection }).first()) as
    { id: string; title: string | null; created_at: number | string } | undefined;
  return row ? toSession(row) : undefined;
}

/** The collection a session belongs to, or undefined when there is no such session. */
export async function findSessionCollection(db: Knex, id: string): Promise<string | undefined> {
  const row = (await db('chat_sessions').select('collection_id').where({ id }).first()) as { collection_id: string } | undefined;
  return row?.collection_id;
}

/** A collection's sessions, newest first, at most `limit`. */
export async function listChatSessions(db: Knex, collection: string, limit: number): Promise<ChatSession[]> {
  const rows = (await db('chat_sessions')
    .select('id', 'title', 'created_at')
    .where({ collection_id: collection })
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'asc' },
    ])
    .limit(limit)) as Array<{ id: string; title: string | null; created_at: number | string }>;
  return rows.map(toSession);
}

/** Deletes a session of `collection` with its messages, in one transaction; returns how many messages went, undefined when there was no session. */
export async function deleteChatSession(db: Knex, id: string, collection: string): Promise<number | undefined> {
  return db.transaction(async (trx) => {
    const session = (await trx('chat_sessions').select('id').where({ id, collection_id: collection }).first()) as { id: string } | undefined;
    if (!session) return undefined;
    const messages = await trx('chat_messages').where({ session_id: id }).delete();
    await trx('chat_sessions').where({ id }).delete();
    return messages;
  });
}

export async function insertUserMessage(db: Knex, input: { sessionId: string; content: string; metadata: Record<string, unknown> }): Promise<StoredMessage> {
  return insertMessage(db, { sessionId: input.sessionId, role: 'user', content: input.content, metadata: input.metadata, replyTo: null });
}

/**
 * Stores the one assistant message of a question. When two attempts overlap, the first insert wins
 * and the other gets `isNew: false` with the winner's message: it must publish nothing new.
 */
export async function insertReply(
  db: Knex,
  input: { sessionId: string; replyTo: number; content: string; metadata: Record<string, unknown>; sources?: readonly AnswerSource[] | undefined },
): Promise<StoredMessage> {
  return insertMessage(db, { ...input, role: 'assistant' });
}

/** The message, if its session is in `collection`: a message of another collection is not found. */
export async function findChatMessageIn(db: Knex, id: number, collection: string): Promise<ChatMessage | undefined> {
  const row = (await db('chat_messages as m')
    .join('chat_sessions as s', 's.id', 'm.session_id')
    .select(MESSAGE_COLUMNS.map((column) => `m.${column}`))
    .where({ 'm.id': id, 's.collection_id': collection })
    .first()) as MessageRow | undefined;
  return row ? toMessage(row) : undefined;
}

export async function findChatMessage(db: Knex, id: number): Promise<ChatMessage | undefined> {
  const row = (await db('chat_messages').select(MESSAGE_COLUMNS).where({ id }).first()) as MessageRow | undefined;
  return row ? toMessage(row) : undefined;
}

/** The assistant message answering a user message, if one was stored. */
export async function findReply(db: Knex, replyTo: number): Promise<ChatMessage | undefined> {
  const row = (await db('chat_messages').select(MESSAGE_COLUMNS).where({ reply_to: replyTo }).first()) as MessageRow | undefined;
  return row ? toMessage(row) : undefined;
}

/** A session's messages with id > afterId, oldest first, at most `limit`. */
export async function listMessagesAfter(db: Knex, sessionId: string, afterId: number, limit: number): Promise<ChatMessage[]> {
  const rows = (await db('chat_messages')
    .select(MESSAGE_COLUMNS)
    .where({ session_id: sessionId })
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)) as MessageRow[];
  return rows.map(toMessage);
}

/** A session's last `limit` user messages before `beforeId`, oldest first: the conversation a follow-up is read in. */
export async function listUserTurnsBefore(db: Knex, sessionId: string, beforeId: number, limit: number): Promise<ChatMessage[]> {
  const rows = (await db('chat_messages')
    .select(MESSAGE_COLUMNS)
    .where({ session_id: sessionId, role: 'user' })
    .where('id', '<', beforeId)
    .orderBy('id', 'desc')
    .limit(limit)) as MessageRow[];
  return rows.map(toMessage).reverse();
}

async function insertMessage(
  db: Knex,
  input: {
    sessionId: string;
    role: ChatRole;
    content: string;
    metadata: Record<string, unknown>;
    replyTo: number | null;
    sources?: readonly AnswerSource[] | undefined;
  },
): Promise<StoredMessage> {
  return db.transaction(async (trx) => {
    if (dialectOf(trx) === 'postgres') await trx.raw('select pg_advisory_xact_lock(?, hashtext(?))', [SESSION_LOCK_CLASS, input.sessionId]);
    const prev = await previousMessageId(trx, input.sessionId);
    const row = {
      session_id: input.sessionId,
      role: input.role,
      content: input.content,
      metadata: toJsonColumn(input.metadata),
      reply_to: input.replyTo,
      created_at: nowMs(),
    };
    const fresh = (await insertMessageRow(trx, row))[0];
    if (fresh) {
      const message = toMessage(fresh);
      if (input.sources !== undefined && input.sources.length > 0) await insertAnswerSources(trx, message.id, input.sources);
      return { message, prevId: prev, isNew: true };
    }
    const existing = (await trx('chat_messages').select(MESSAGE_COLUMNS).where({ reply_to: input.replyTo }).first()) as MessageRow | undefined;
    if (!existing) throw new Error(`reply to message ${String(input.replyTo)} was neither inserted nor found`);
    return { message: toMessage(existing), prevId: 0, isNew: false };
  });
}

// A message's insert is on the push path (its row's created_at to its SSE event): on SQLite its
// statements are prepared once (prepared-statements.ts). One insert serves both roles: a user
// message's reply_to is NULL, which never conflicts.
const PREVIOUS_MESSAGE_SQL = 'select max(id) as id from chat_messages where session_id = ?';
const INSERT_MESSAGE_SQL = `insert into chat_messages (session_id, role, content, metadata, reply_to, created_at) values (?, ?, ?, ?, ?, ?)
  on conflict (reply_to) do nothing returning ${MESSAGE_COLUMNS.join(', ')}`;

/** The session's newest message id, 0 for none. */
async function previousMessageId(trx: Knex, sessionId: string): Promise<number> {
  const row = hasPreparedStatements(trx)
    ? (await preparedRows<{ id: number | null }>(trx, PREVIOUS_MESSAGE_SQL, [sessionId]))[0]
    : ((await trx('chat_messages').where({ session_id: sessionId }).max({ id: 'id' }).first()) as { id: number | null } | undefined);
  return Number(row?.id ?? 0);
}

/** The inserted row, or none when a reply to the same question exists. */
async function insertMessageRow(trx: Knex, row: Omit<MessageRow, 'id'>): Promise<MessageRow[]> {
  if (hasPreparedStatements(trx)) {
    const params = [row.session_id, row.role, row.content, row.metadata, row.reply_to, row.created_at];
    return preparedRows<MessageRow>(trx, INSERT_MESSAGE_SQL, params);
  }
  const insert = trx('chat_messages').insert(row);
  const inserted: MessageRow[] = await (row.reply_to === null ? insert : insert.onConflict('reply_to').ignore()).returning(MESSAGE_COLUMNS);
  return inserted;
}

function toSession(row: { id: string; title: string | null; created_at: number | string }): ChatSession {
  return { id: row.id, title: row.title, createdAt: new Date(Number(row.created_at)).toISOString() };
}

function toMessage(row: MessageRow): ChatMessage {
  return {
    id: Number(row.id),
    sessionId: row.session_id,
    role: row.role,
    content: row.content,
    metadata: fromJsonColumn<Record<string, unknown>>(row.metadata),
    replyTo: row.reply_to === null ? null : Number(row.reply_to),
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}
