/** The extractive answerer: quotes chosen by word overlap, in order, cited; a sources list; streamed in pieces. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import winston from 'winston';
import type { Answer, Passage } from '../src/answerers/answerer.js';
import { createAnswerer } from '../src/answerers/create-answerer.js';
import { createExtractiveAnswerer, NO_PASSAGES_ANSWER } from '../src/answerers/extractive.js';

const passages: Passage[] = [
  {
    documentId: 'doc-hive',
    chunkId: 1,
    score: 0.9,
    vectorScore: 0.9,
    title: 'Hive notes',
    text: 'A colony has one queen. Worker bees store honey in wax cells. Drones do not work. The hive keeps honey for winter.',
  },
  {
    documentId: 'doc-index',
    chunkId: 2,
    score: 0.8,
    vectorScore: 0.8,
    title: null,
    text: 'The index is a cache. Honey production depends on the flowers nearby.',
  },
  { documentId: 'doc-redis', chunkId: 3, score: 0.7, vectorScore: 0.7, title: 'Queues', text: 'Redis carries the queues between processes.' },
];

async function answer(question: string, input: Passage[] = passages): Promise<{ answer: Answer; deltas: string[] }> {
  const deltas: string[] = [];
  const result = await createExtractiveAnswerer().answer({ question, passages: input, signal: new AbortController().signal, onDelta: (d) => deltas.push(d) });
  return { answer: result, deltas };
}

describe('the extractive answerer', () => {
  it('has the id extractive and answers with no model', async () => {
    const answerer = createExtractiveAnswerer();
    assert.equal(answerer.id, 'extractive');
    assert.equal((await answer('Where is honey stored?')).answer.model, null);
  });

  it('says clearly that no relevant passages were found when there are none', async () => {
    const { answer: result, deltas } = await answer('Where is honey stored?', []);
    assert.equal(result.content, NO_PASSAGES_ANSWER);
    assert.match(result.content, /^No stored passage answers this question/);
    assert.deepEqual(deltas, [NO_PASSAGES_ANSWER]);
  });

  it('quotes the sentences that share words with the question, each followed by its source number', async () => {
    const { content } = (await answer('Where do bees store honey?')).answer;
    assert.ok(content.includes('“Worker bees store honey in wax cells.” [1]'), content);
    assert.ok(content.includes('“Honey production depends on the flowers nearby.” [2]'), content);
    assert.ok(!content.includes('Drones do not work'), 'a sentence sharing no word is left out');
    assert.ok(!content.includes('Redis'), 'a passage sharing no word is left out');
  });

  it('keeps the quotes in passage order and sentence order, whatever their scores', async () => {
    const { content } = (await answer('When does the hive keep honey, and which bees store it?')).answer;
    const positions = ['Worker bees store honey', 'The hive keeps honey for winter', 'Honey production'].map((s) => content.indexOf(s));
    assert.ok(
      positions.every((p) => p >= 0),
      content,
    );
    assert.deepEqual(
      [...positions].sort((a, b) => a - b),
      positions,
    );
  });

  it('lists the cited sources with their titles, naming an untitled one by its document id', async () => {
    const { content } = (await answer('Where do bees store honey?')).answer;
    const sources = content.slice(content.indexOf('Sources:'));
    assert.match(sources, /^Sources:\n\[1\] Hive notes\n\[2\] Untitled document doc-index$/);
  });

  it('emits the answer through onDelta in a few pieces that add up to the content', async () => {
    const { answer: result, deltas } = await answer('Where do bees store honey?');
    assert.ok(deltas.length >= 3 && deltas.length <= 8, `${deltas.length} pieces`);
    assert.equal(deltas.join(''), result.content);
  });

  it('matches words across accents, case and plurals', async () => {
    const { content } = (await answer('CÉLULAS?', [{ ...passages[0]!, text: 'As abelhas guardam mel nas celulas de cera. Outra frase.' }])).answer;
    assert.ok(content.includes('“As abelhas guardam mel nas celulas de cera.” [1]'), content);
  });

  it('quotes the opening of the best passage when no sentence shares a word with the question', async () => {
    const { content } = (await answer('Qual é a capital?')).answer;
    assert.ok(content.includes('“A colony has one queen.” [1]'), content);
    assert.match(content, /Sources:\n\[1\] Hive notes$/);
  });

  it('clips a very long sentence at a word boundary', async () => {
    const long = `${'honey '.repeat(200)}end.`;
    const { content } = (await answer('honey', [{ ...passages[0]!, text: long }])).answer;
    const quote = /“([^”]*)”/.exec(content)?.[1] ?? '';
    assert.ok(quote.length <= 401 && quote.endsWith('…'), quote);
  });

  it('rejects at once when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(createExtractiveAnswerer().answer({ question: 'q', passages, signal: controller.signal, onDelta: () => {} }), { name: 'AbortError' });
  });

  it('is chosen by ANSWERER, with the Ollama answerer as the other choice', () => {
    const logger = winston.createLogger({ silent: true });
    const config = {
      OLLAMA_HOST: 'http://127.0.0.1:9',
      CHAT_MODEL: 'llama3.2',
      OLLAMA_TIMEOUT_MS: 1_000,
      OLLAMA_MAX_CONCURRENCY: 1,
      REWRITE_TIMEOUT_MS: 1_000,
    };
    assert.equal(createAnswerer({ ...config, ANSWERER: 'extractive' }, logger).id, 'extractive');
    assert.equal(createAnswerer({ ...config, ANSWERER: 'ollama' }, logger).id, 'ollama');
  });
});
