/**
 * chat-repo and idempotency-keys-repo on real databases: SQLite (a temp file) and, when
 * TEST_DATABASE_URL is set, Postgres (a private schema). The properties the push protocol rests on:
 * one reply per question under concurrent attempts, ids committed in order within a session (each
 * message's prevId is the message before it), and replay reads everything after an id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { createChatSession, findChatMessage, findChatSession, findReply, insertReply, insertUserMessage, listMessagesAfter } from '../src/db/chat-repo.js';
import { claimIdempotencyKey, completeIdempotencyKey } from '../src/db/idempotency-keys-repo.js';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from './test-database.js';

for (const backend of DATABASE_BACKENDS) {
  describe(`chat-repo on ${backend}`, () => {
    let db: Knex;
    let database: TestDatabase | undefined;
    let sessionCount = 0;
    const newSession = async () => {
      const session = await createChatSession(db, { id: `s-${++sessionCount}`, title: null });
      assert.ok(session);
      return session.id;
    };

    before(async () => {
      database = await openTestDatabase(backend, 'colmeia-chat-repo-');
      db = database.db;
    });
    after(async () => {
      await database?.close();
    });

    it('creates a session once and answers undefined for a second one with the same id', async () => {
      const created = await createChatSession(db, { id: 'same', title: 'Bees' });
      assert.equal(created?.id, 'same');
      assert.equal(created?.title, 'Bees');
      assert.ok(Number.isFinite(Date.parse(created?.createdAt ?? '')));
      assert.equal(await createChatSession(db, { id: 'same', title: 'Other' }), undefined);
      assert.deepEqual(await findChatSession(db, 'same'), created);
      assert.equal(await findChatSession(db, 'missing'), undefined);
    });

    it('stores questions with their metadata and lists only the messages after an id, oldest first', async () => {
      const sessionId = await newSession();
      const first = await insertUserMessage(db, { sessionId, content: 'Where is honey kept?', metadata: { type: 'question', k: 3 } });
      const second = await insertUserMessage(db, { sessionId, content: 'And wax?', metadata: { type: 'question', k: 5 } });
      assert.equal(first.isNew, true);
      assert.equal(first.prevId, 0);
      assert.equal(second.prevId, first.message.id);
      assert.deepEqual(first.message.metadata, { type: 'question', k: 3 });
      assert.equal(first.message.role, 'user');
      assert.equal(first.message.replyTo, null);
      assert.deepEqual(await listMessagesAfter(db, sessionId, 0, 10), [first.message, second.message]);
      assert.deepEqual(await listMessagesAfter(db, sessionId, first.message.id, 10), [second.message]);
      assert.deepEqual(await listMessagesAfter(db, sessionId, second.message.id, 10), []);
      assert.deepEqual(await listMessagesAfter(db, sessionId, 0, 1), [first.message]);
      assert.deepEqual(await findChatMessage(db, first.message.id), first.message);
    });

    it('stores exactly one reply per question when ten attempts insert at once, and tells only one it won', async () => {
      const sessionId = await newSession();
      const question = await insertUserMessage(db, { sessionId, content: 'Q', metadata: {} });
      const attempts = await Promise.all(
        Array.from({ length: 10 }, (_, i) => insertReply(db, { sessionId, replyTo: question.message.id, content: `answer ${i}`, metadata: { attempt: i } })),
      );
      assert.equal(attempts.filter((a) => a.isNew).length, 1);
      const winner = attempts.find((a) => a.isNew);
      assert.equal(winner?.prevId, question.message.id);
      for (const attempt of attempts) assert.deepEqual(attempt.message, winner?.message, 'every attempt reads back the stored reply');
      assert.deepEqual(await findReply(db, question.message.id), winner?.message);
      const all = await listMessagesAfter(db, sessionId, 0, 100);
      assert.deepEqual(
        all.map((m) => m.role),
        ['user', 'assistant'],
      );
    });

    it("commits a session's messages in id order, so every prevId is the message just before it", async () => {
      const sessionId = await newSession();
      const other = await newSession();
      const stored = await Promise.all(
        Array.from({ length: 30 }, (_, i) => insertUserMessage(db, { sessionId: i % 3 === 0 ? other : sessionId, content: `m${i}`, metadata: {} })),
      );
      for (const id of [sessionId, other]) {
        const ids = (await listMessagesAfter(db, id, 0, 100)).map((m) => m.id);
        const prevOf = new Map(stored.filter((s) => s.message.sessionId === id).map((s) => [s.message.id, s.prevId]));
        ids.forEach((messageId, i) => assert.equal(prevOf.get(messageId), i === 0 ? 0 : ids[i - 1], `prevId of message ${messageId}`));
      }
    });

    it('claims an idempotency key once, replays its response, and frees it after it expires', async () => {
      const first = await db.transaction(async (trx) => {
        const earlier = await claimIdempotencyKey(trx, { key: 'k1', requestHash: 'h1', ttlMs: 60_000 });
        await completeIdempotencyKey(trx, 'k1', 202, { message: { id: 7 } });
        return earlier;
      });
      assert.equal(first, undefined);
      const again = await db.transaction((trx) => claimIdempotencyKey(trx, { key: 'k1', requestHash: 'h2', ttlMs: 60_000 }));
      assert.deepEqual(again, { requestHash: 'h1', statusCode: 202, response: { message: { id: 7 } } });

      await db.transaction(async (trx) => {
        assert.equal(await claimIdempotencyKey(trx, { key: 'k2', requestHash: 'h', ttlMs: -1 }), undefined); // expired at once
        await completeIdempotencyKey(trx, 'k2', 201, { id: 'x' });
      });
      const reclaimed = await db.transaction((trx) => claimIdempotencyKey(trx, { key: 'k2', requestHash: 'h3', ttlMs: 60_000 }));
      assert.equal(reclaimed, undefined, 'an expired key is purged and claimable again');
    });

    it('rolls a claim back with its transaction, so a failed request leaves the key free', async () => {
      await assert.rejects(
        db.transaction(async (trx) => {
          await claimIdempotencyKey(trx, { key: 'k3', requestHash: 'h', ttlMs: 60_000 });
          throw new Error('the work failed');
        }),
        /the work failed/,
      );
      const claim = await db.transaction((trx) => claimIdempotencyKey(trx, { key: 'k3', requestHash: 'h', ttlMs: 60_000 }));
      assert.equal(claim, undefined);
    });
  });
}
