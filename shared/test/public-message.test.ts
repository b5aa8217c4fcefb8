import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publicMessage } from '../src/public-message.js';

describe('publicMessage', () => {
  it('names what failed without its address', () => {
    const ollama = new Error('ollama at http://10.0.3.7:11434 is unreachable for embed (ECONNREFUSED); gave up after 4 attempts');
    assert.equal(publicMessage(ollama), 'ollama at <address> is unreachable for embed (ECONNREFUSED); gave up after 4 attempts');
    assert.equal(publicMessage(new Error('socket to 127.0.0.1:6380 closed, and [::1]:5432 too')), 'socket to <address> closed, and <address> too');
    assert.equal(publicMessage(new Error('no answer from localhost:11434')), 'no answer from <address>');
  });

  it('keeps what a driver says went wrong, without where', () => {
    assert.equal(publicMessage(new Error('connect ECONNREFUSED 127.0.0.1:5543')), 'connect ECONNREFUSED <address>');
  });

  it('keeps a message without addresses as it is', () => {
    assert.equal(
      publicMessage(new Error('document has 2001 chunks, more than MAX_CHUNKS_PER_DOCUMENT (2000)')),
      'document has 2001 chunks, more than MAX_CHUNKS_PER_DOCUMENT (2000)',
    );
  });
});
