/**
 * One client's event stream of a chat session. It subscribes first, then replays
 * the stored messages after the client's Last-Event-ID, and drops anything at or below the last id
 * it sent, so nothing falls between replay and live push and nothing arrives twice. A pushed
 * message goes out directly only when its predecessor in the session (prevId) has been sent;
 * otherwise, or after a lost subscription (`resync`), the stream reads the gap from SQL, in order.
 * Deltas, progress and errors pass straight through and may be dropped for a slow client.
 */
import type { Knex } from 'knex';
import { listMessagesAfter, type ChatMessage } from '../../../shared/src/db/chat-repo.js';
import type { Events } from '../../../shared/src/events.js';
import { serializeError, type Logger } from '../../../shared/src/logger.js';
import type { SseStream } from './sse.js';

const REPLAY_PAGE = 200;

export interface StreamSessionDeps {
  db: Knex;
  events: Pick<Events, 'subscribe'>;
  logger: Logger;
}

export function streamSession(d: StreamSessionDeps, stream: SseStream, sessionId: string, afterId: number): void {
  let lastSentId = afterId;
  let isCatchingUp = false;
  let isCatchUpWanted = false;

  const sendMessage = (message: ChatMessage) => {
    if (message.id <= lastSentId) return;
    stream.send('message', message, { id: message.id });
    lastSentId = message.id;
  };

  /** Sends every stored message after lastSentId; a call during a run makes the run go round again. */
  const catchUp = async () => {
    if (isCatchingUp) {
      isCatchUpWanted = true;
      return;
    }
    isCatchingUp = true;
    try {
      do {
        isCatchUpWanted = false;
        let page: ChatMessage[];
        do {
          page = await listMessagesAfter(d.db, sessionId, lastSentId, REPLAY_PAGE);
          for (const message of page) sendMessage(message);
        } while (page.length === REPLAY_PAGE && !stream.isClosed);
      } while (isCatchUpWanted && !stream.isClosed);
    } catch (err) {
      d.logger.warn('chat stream replay failed; closing it so the client reconnects', { sessionId, err: serializeError(err) });
      stream.close();
    } finally {
      isCatchingUp = false;
    }
  };

  const unsubscribe = d.events.subscribe(sessionId, (signal) => {
    if (stream.isClosed) return;
    if (signal.type === 'resync') {
      void catchUp();
    } else if (signal.type === 'message') {
      if (signal.message.id <= lastSentId) return; // already replayed
      if (isCatchingUp || signal.prevId > lastSentId)
        void catchUp(); // something may be missing: read it in order
      else sendMessage(signal.message);
    } else {
      const { type, ...data } = signal;
      stream.send(type, data, { isDroppable: true });
    }
  });
  stream.onClose(unsubscribe);
  void catchUp();
}
