import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { createBuiltinEmbedder } from '../src/embedders/builtin.js';
import { checkVectors } from '../src/embedders/check-vectors.js';

const embedder = createBuiltinEmbedder(384);

async function embedOne(text: string): Promise<number[]> {
  const [vector] = await embedder.embed([text]);
  assert.ok(vector);
  return vector;
}

function cosine(a: readonly number[], b: readonly number[]): number {
  return a.reduce((sum, value, i) => sum + value * (b[i] ?? 0), 0); // both are unit length
}

function norm(vector: readonly number[]): number {
  return Math.sqrt(cosine(vector, vector));
}

describe('createBuiltinEmbedder', () => {
  it('names the algorithm version and the dimension in its id', () => {
    assert.equal(embedder.id, 'builtin-hash-v1:384');
    assert.equal(embedder.dimension, 384);
    assert.equal(createBuiltinEmbedder(64).id, 'builtin-hash-v1:64');
  });

  it('honours the dimension it was built with', async () => {
    for (const dimension of [1, 64, 384, 1000]) {
      const vectors = await createBuiltinEmbedder(dimension).embed(['some text', '']);
      assert.deepEqual(
        vectors.map((vector) => vector.length),
        [dimension, dimension],
      );
    }
  });

  it('refuses a dimension that is not a positive integer', () => {
    for (const dimension of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => createBuiltinEmbedder(dimension), RangeError);
    }
  });

  it('gives the same vector for the same text, across calls and instances', async () => {
    const text = 'The hive keeps its honey in wax cells.';
    const again = await createBuiltinEmbedder(384).embed([text]);
    assert.deepEqual(await embedOne(text), await embedOne(text));
    assert.deepEqual([await embedOne(text)], again);
  });

  it('returns one vector per text, in order', async () => {
    const texts = ['bees make honey', 'ants build nests', 'bees make honey'];
    const vectors = await embedder.embed(texts);
    assert.equal(vectors.length, 3);
    assert.deepEqual(vectors[0], await embedOne('bees make honey'));
    assert.deepEqual(vectors[1], await embedOne('ants build nests'));
    assert.deepEqual(vectors[0], vectors[2]);
    assert.deepEqual(await embedder.embed([]), []);
  });

  it('returns unit-length vectors', async () => {
    const vectors = await embedder.embed(['one', 'a longer sentence about bees, wax and honey', 'x'.repeat(5000)]);
    for (const vector of vectors) assert.ok(Math.abs(norm(vector) - 1) < 1e-9);
  });

  it('folds accents and case, so "café" and "CAFE" embed alike', async () => {
    assert.deepEqual(await embedOne('café'), await embedOne('cafe'));
    assert.deepEqual(await embedOne('Café com Pão'), await embedOne('CAFE COM PAO'));
    assert.deepEqual(await embedOne('Ação e coração'), await embedOne('acao e coracao'));
  });

  it('folds compatibility forms such as ligatures and full-width letters', async () => {
    assert.deepEqual(await embedOne('ﬁle'), await embedOne('file'));
    assert.deepEqual(await embedOne('ＡＢＣ'), await embedOne('abc'));
  });

  it('places a text closer to a paraphrase sharing words than to an unrelated text', async () => {
    const text = 'Honey bees store nectar in wax cells and turn it into honey.';
    const paraphrase = 'Bees turn the nectar they store in wax cells into honey.';
    const unrelated = 'The quarterly report shows revenue growth in the retail division.';
    const [a, b, c] = await embedder.embed([text, paraphrase, unrelated]);
    assert.ok(a && b && c);
    assert.ok(cosine(a, b) > 0.5, `paraphrase similarity ${cosine(a, b)}`);
    assert.ok(cosine(a, b) > cosine(a, c) + 0.3, `paraphrase ${cosine(a, b)} vs unrelated ${cosine(a, c)}`);
  });

  it('matches Portuguese text with and without accents better than unrelated text', async () => {
    const [a, b, c] = await embedder.embed([
      'A organização das abelhas na colmeia é fascinante.',
      'organizacao das abelhas na colmeia',
      'O relatório financeiro do trimestre foi publicado.',
    ]);
    assert.ok(a && b && c);
    assert.ok(cosine(a, b) > cosine(a, c) + 0.3);
  });

  it('gives inflected forms some similarity through character 3-grams', async () => {
    const [a, b, c] = await embedder.embed(['organisation', 'organisations', 'umbrella']);
    assert.ok(a && b && c);
    assert.ok(cosine(a, b) > 0.3 && cosine(a, b) > cosine(a, c) + 0.3);
  });

  it('gives empty and punctuation-only text the same valid unit vector', async () => {
    const [empty, punctuation, spaces] = await embedder.embed(['', '?!... --- ;', '   \n\t']);
    assert.ok(empty && punctuation && spaces);
    assert.ok(Math.abs(norm(empty) - 1) < 1e-12);
    assert.deepEqual(punctuation, empty);
    assert.deepEqual(spaces, empty);
    assert.equal(empty.filter((value) => value !== 0).length, 1);
  });

  it('still embeds a text made only of stop words', async () => {
    const vector = await embedOne('to be or not to be');
    assert.ok(Math.abs(norm(vector) - 1) < 1e-9);
    assert.notDeepEqual(vector, await embedOne(''));
  });

  it('refuses to start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(embedder.embed(['text'], controller.signal), { name: 'AbortError' });
  });

  it('closes without error', async () => {
    await createBuiltinEmbedder(8).close();
  });

  it('gives every string a vector that checkVectors accepts', async () => {
    const small = createBuiltinEmbedder(16);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary', maxLength: 200 }), { maxLength: 5 }), async (texts) => {
        const vectors = await small.embed(texts);
        assert.deepEqual(checkVectors(vectors, texts.length, 16).length, texts.length);
        for (const vector of vectors) assert.ok(Math.abs(norm(vector) - 1) < 1e-9);
      }),
    );
  });
});
