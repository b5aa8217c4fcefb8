/**
 * The Ollama answerer: a streamed `chat` whose system prompt treats retrieved passages as
 * untrusted, fenced, numbered data (chat-prompt.ts), tokens forwarded through onDelta as they come.
 * It shares the embedder's rules for talking to Ollama (ollama/ollama-caller.ts): the per-process concurrency
 * limit, busy/refused retries — only before the first token, since tokens already reached the client —
 * and OLLAMA_TIMEOUT_MS of silence. A stream that ends or breaks before `done:true` rejects: a partial
 * answer is never returned as final; the job retries it whole.
 */
import type { ChatResponse } from 'ollama';
import type { Config } from '../../../shared/src/config.js';
import type { Logger } from '../../../shared/src/logger.js';
import { createOllamaCallerFromConfig, type OllamaClientOptions, type OllamaCallContext } from '../ollama/ollama-caller.js';
import { networkErrorCode } from '../ollama/classify-failure.js';
import { OllamaResponseError } from '../ollama/ollama-errors.js';
import type { Answerer } from './answerer.js';
import { buildChatPrompt, type ChatPrompt } from './chat-prompt.js';
import { buildRewritePrompt, parseRewrite, type RewritePrompt } from './rewrite-prompt.js';
import { serializeError } from '../../../shared/src/logger.js';
import { NO_PASSAGES_ANSWER } from './extractive.js';

export type OllamaAnswererConfig = Pick<Config, 'OLLAMA_HOST' | 'CHAT_MODEL' | 'OLLAMA_TIMEOUT_MS' | 'OLLAMA_MAX_CONCURRENCY' | 'REWRITE_TIMEOUT_MS'>;

export type OllamaAnswererOptions = OllamaClientOptions;

export function createOllamaAnswerer(config: OllamaAnswererConfig, logger: Logger, options: OllamaAnswererOptions = {}): Answerer {
  const model = config.CHAT_MODEL;
  const caller = createOllamaCallerFromConfig(config, model, logger, options);

  return {
    id: 'ollama',
    async answer({ question, passages, signal, onDelta }) {
      signal.throwIfAborted();
      // Nothing retrieved: nothing to ground an answer on, so no model call (and no invented answer).
      if (passages.length === 0) {
        onDelta(NO_PASSAGES_ANSWER);
        return { content: NO_PASSAGES_ANSWER, model: null };
      }
      const prompt = buildChatPrompt(question, passages);
      const content = await caller.call('chat', (context) => streamChat(context, model, prompt, onDelta), signal);
      return { content, model };
    },
    /** Bounded by REWRITE_TIMEOUT_MS; any failure (timeout, model down, an odd reply) falls back to the question as asked. */
    async rewriteQuestion({ question, earlierQuestions, signal }) {
      if (earlierQuestions.length === 0) return question;
      const bounded = AbortSignal.any([signal, AbortSignal.timeout(config.REWRITE_TIMEOUT_MS)]);
      const prompt = buildRewritePrompt(question, earlierQuestions);
      try {
        const reply = await caller.call('chat', (context) => chatOnce(context, model, prompt), bounded);
        return parseRewrite(reply) ?? question;
      } catch (err) {
        logger.warn('question not rewritten; retrieving with the question as asked', { err: serializeError(err) });
        return question;
      }
    },
    async close() {
      caller.close();
    },
  };
}

async function chatOnce(context: OllamaCallContext, model: string, prompt: RewritePrompt): Promise<string> {
  const reply = await context.client.chat({
    model,
    stream: false,
    messages: [
      { role: 'system', content: prompt.system },
      { role: 'user', content: prompt.user },
    ],
  });
  return deltaOf(reply);
}

async function streamChat(context: OllamaCallContext, model: string, prompt: ChatPrompt, onDelta: (text: string) => void): Promise<string> {
  const stream = await context.client.chat({
    model,
    stream: true,
    messages: [
      { role: 'system', content: prompt.system },
      { role: 'user', content: prompt.user },
    ],
  });
  const abort = (): void => stream.abort(); // closes the connection, so Ollama stops generating
  context.signal.addEventListener('abort', abort, { once: true });
  if (context.signal.aborted) abort();
  let content = '';
  let isDone = false;
  try {
    for await (const part of stream) {
      context.touch();
      const delta = deltaOf(part);
      if (delta.length > 0) {
        context.commit();
        content += delta;
        onDelta(delta);
      }
      if (part.done === true) isDone = true;
    }
  } catch (err) {
    // Before any token a dropped connection is worth a retry: let the caller classify it as it is.
    if (context.signal.aborted || (content.length === 0 && networkErrorCode(err) !== null)) throw err;
    throw new OllamaResponseError(`the chat stream broke after ${content.length} characters, before done`, undefined, { cause: err });
  } finally {
    context.signal.removeEventListener('abort', abort);
  }
  if (!isDone) throw new OllamaResponseError(`the chat stream ended after ${content.length} characters without done`);
  if (content.trim().length === 0) throw new OllamaResponseError('the chat model returned an empty answer');
  return content;
}

/** The token of one streamed chunk; the reply is outside data, so its shape is checked, not assumed. */
function deltaOf(part: ChatResponse): string {
  const message: unknown = part.message;
  if (typeof message !== 'object' || message === null || !('content' in message)) return '';
  return typeof message.content === 'string' ? message.content : '';
}
