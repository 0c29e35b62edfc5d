import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, type BackendName } from '../src/engine/tf-backend.js';
import { balancedPairs, PairClassifier, pairFeatures } from '../src/training/pair-classifier.js';
import { Rng } from '../src/training/rng.js';
import type { Tf } from '../src/training/tf-types.js';
import { gaussian, noisy, prng, unit } from './support/synthetic-embeddings.js';

let tf: Tf;
let tmp: string;

beforeAll(async () => {
  tf = (await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined)).tf;
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facepipe-pairs-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** `people` people with `per` noisy unit vectors each around a random unit centre. */
function people(seed: number, count: number, per: number, dim = 24, sigma = 0.08) {
  const rand = prng(seed);
  const vectors: number[][] = [];
  const labels: string[] = [];
  for (let p = 0; p < count; p++) {
    const centre = unit(Array.from({ length: dim }, () => gaussian(rand)));
    for (let j = 0; j < per; j++) {
      vectors.push(noisy(rand, centre, sigma));
      labels.push(`s${seed}-p${p}`);
    }
  }
  return { vectors, labels };
}

describe('pair features and balanced pairs', () => {
  it('are |f1 - f2| then f1 * f2, the same for (a, b) and (b, a)', () => {
    expect(Array.from(pairFeatures([1, -2, 0.5], [3, 1, 0.5]))).toEqual([2, 3, 0, 3, -2, 0.25]);
    expect(pairFeatures([1, -2], [3, 1])).toEqual(pairFeatures([3, 1], [1, -2]));
    expect(() => pairFeatures([1], [1, 2])).toThrow(/sizes differ/);
  });

  it('samples as many different-person pairs as same-person pairs, without repeats', () => {
    const labels = ['a', 'a', 'a', 'b', 'b', 'c', 'd'];
    const pairs = balancedPairs(labels, new Rng(1));
    const same = pairs.filter((p) => p.same);
    expect(same).toHaveLength(4); // 3 pairs of a, 1 of b
    expect(pairs).toHaveLength(8);
    for (const p of pairs) expect(labels[p.i] === labels[p.j]).toBe(p.same);
    expect(new Set(pairs.map((p) => `${p.i},${p.j}`)).size).toBe(8);
    expect(balancedPairs(labels, new Rng(1), 2).filter((p) => p.same)).toHaveLength(2);
    expect(() => balancedPairs(['a', 'b'], new Rng(1))).toThrow(RangeError);
  });
});

describe('PairClassifier', () => {
  it('separates same from different people it never saw, and saves and loads with the same outputs', async () => {
    const train = people(1, 20, 5);
    const test = people(2, 10, 5);
    const classifier = await PairClassifier.train(
      tf,
      train.vectors,
      train.labels,
      { epochs: 30, learningRate: 0.05, batchSize: 64, l2: 1e-4, rng: new Rng(3) },
      { baseModel: 'synthetic' },
    );
    const pairs = balancedPairs(test.labels, new Rng(4));
    const probabilities = classifier.probabilities(pairs.map((p) => [test.vectors[p.i], test.vectors[p.j]] as const));
    const correct = pairs.filter((p, k) => probabilities[k] > 0.5 === p.same).length;
    expect(correct / pairs.length).toBeGreaterThan(0.95);

    const dir = path.join(tmp, 'classifier');
    await classifier.save(dir);
    const loaded = await PairClassifier.load(tf, dir);
    expect(loaded.metadata).toMatchObject({
      format: 'facepipe.pair-classifier/v1',
      embeddingSize: 24,
      baseModel: 'synthetic',
    });
    expect(loaded.probabilities(pairs.map((p) => [test.vectors[p.i], test.vectors[p.j]] as const))).toEqual(
      probabilities,
    );
    expect(loaded.probability(test.vectors[0], test.vectors[1])).toBe(
      classifier.probability(test.vectors[0], test.vectors[1]),
    );
    expect(classifier.probability(test.vectors[0], test.vectors[1])).toBeGreaterThan(0.5); // one person's two images
    await expect(PairClassifier.load(tf, path.join(tmp, 'nothing'))).rejects.toThrow(/cannot read the model/);
    classifier.dispose();
    loaded.dispose();
  });
});
