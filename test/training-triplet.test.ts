import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, type BackendName } from '../src/engine/tf-backend.js';
import { EmbeddingAdapter } from '../src/training/embedding-adapter.js';
import { PKSampler } from '../src/training/pk-sampler.js';
import { Rng } from '../src/training/rng.js';
import type { Tensor2D, Tf } from '../src/training/tf-types.js';
import { pairwiseDistances, tripletLoss, tripletLossOfEmbeddings } from '../src/training/triplet-loss.js';
import { activeTriplets, mineTriplets, type Triplet } from '../src/training/triplet-mining.js';
import { trainTriplet, type TripletData } from '../src/training/triplet-trainer.js';
import { gaussian, prng } from './support/synthetic-embeddings.js';

let tf: Tf;
let tmp: string;

beforeAll(async () => {
  tf = (await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined)).tf;
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facepipe-training-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const sortTriplets = (ts: readonly Triplet[]) => ts.map((t) => t.join(',')).sort();

describe('triplet loss', () => {
  it('is max(d(A,P) - d(A,N) + alpha, 0) summed over hand-computed triplets', () => {
    // Triplet 1: d2(A,P) = 0.09, d2(A,N) = 0.16: 0.09 - 0.16 + 0.2 = 0.13. Triplet 2: 0.01 - 1 + 0.2 < 0: 0.
    const a = tf.tensor2d([
      [0, 0],
      [0, 0],
    ]);
    const p = tf.tensor2d([
      [0.3, 0],
      [0, 0.1],
    ]);
    const n = tf.tensor2d([
      [0.4, 0],
      [0, 1],
    ]);
    expect(tripletLossOfEmbeddings(tf, a, p, n, 0.2).dataSync()[0]).toBeCloseTo(0.13, 6);
    // Euclidean: 0.3 - 0.4 + 0.2 = 0.1, and 0.1 - 1 + 0.2 < 0.
    expect(tripletLossOfEmbeddings(tf, a, p, n, 0.2, 'euclidean').dataSync()[0]).toBeCloseTo(0.1, 6);
    // A bigger margin activates the second one too: (0.09 - 0.16 + 1) + (0.01 - 1 + 1) = 0.94.
    expect(tripletLossOfEmbeddings(tf, a, p, n, 1).dataSync()[0]).toBeCloseTo(0.94, 5);
    tf.dispose([a, p, n]);
  });

  it('gives the same value from the batch distance matrix as from the triplets themselves', () => {
    // Rows: 0 = A, 1 = P, 2 = N of triplet 1; 3 = P', 4 = N' of triplet 2 (anchor 0 again).
    const e = tf.tensor2d([
      [0, 0],
      [0.3, 0],
      [0.4, 0],
      [0, 0.1],
      [0, 1],
    ]) as Tensor2D;
    const d = pairwiseDistances(tf, e);
    expect(Array.from(d.dataSync()).map((x) => Number(x.toFixed(6)))).toEqual(
      [
        [0, 0.09, 0.16, 0.01, 1],
        [0.09, 0, 0.01, 0.1, 1.09],
        [0.16, 0.01, 0, 0.17, 1.16],
        [0.01, 0.1, 0.17, 0, 0.81],
        [1, 1.09, 1.16, 0.81, 0],
      ].flat(),
    );
    const loss = tripletLoss(
      tf,
      d,
      [
        [0, 1, 2],
        [0, 3, 4],
      ],
      0.2,
    );
    expect(loss.dataSync()[0]).toBeCloseTo(0.13, 6);
    const de = pairwiseDistances(tf, e, 'euclidean');
    expect(
      tripletLoss(
        tf,
        de,
        [
          [0, 1, 2],
          [0, 3, 4],
        ],
        0.2,
      ).dataSync()[0],
    ).toBeCloseTo(0.1, 6);
    tf.dispose([e, d, loss, de]);
  });

  it('has gradients only on the embeddings of active triplets, equal to the analytic ones', () => {
    // Triplet (0, 1, 2) is active (loss 0.13); triplet (3, 4, 5) is easy (loss 0): rows 3-5 get nothing.
    const rows = [
      [0, 0],
      [0.3, 0],
      [0.4, 0],
      [5, 5],
      [5, 5.1],
      [8, 9],
    ];
    const e = tf.tensor2d(rows) as Tensor2D;
    const triplets: Triplet[] = [
      [0, 1, 2],
      [3, 4, 5],
    ];
    const grad = tf.grad((x) => tripletLoss(tf, pairwiseDistances(tf, x as Tensor2D), triplets, 0.2))(e);
    const g = grad.arraySync() as number[][];
    // d/dA (|A-P|^2 - |A-N|^2) = 2(N - P); d/dP = 2(P - A); d/dN = 2(A - N).
    const [A, P, N] = rows;
    const expected = [
      A.map((_, i) => 2 * (N[i] - P[i])),
      P.map((_, i) => 2 * (P[i] - A[i])),
      A.map((_, i) => 2 * (A[i] - N[i])),
    ];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 2; c++) expect(g[r][c]).toBeCloseTo(expected[r][c], 5);
    expect(
      g
        .slice(3)
        .flat()
        .every((v) => v === 0),
    ).toBe(true);
    // The same with a triplet that is mined but inactive, and a row no triplet names.
    const grad2 = tf.grad((x) => tripletLoss(tf, pairwiseDistances(tf, x as Tensor2D, 'euclidean'), [[3, 4, 5]], 0.2))(
      e,
    );
    expect((grad2.arraySync() as number[][]).flat().every((v) => v === 0)).toBe(true);
    tf.dispose([e, grad, grad2]);
  });
});

describe('miners', () => {
  // labels [0, 0, 0, 1, 1]; margin 0.2. Valid triplets: anchors 0-2 have 2 positives x 2 negatives,
  // anchors 3-4 have 1 positive x 3 negatives: 18.
  const labels = [0, 0, 0, 1, 1];
  const D = [
    [0, 0.2, 0.7, 0.5, 0.95],
    [0.2, 0, 0.4, 0.8, 0.3],
    [0.7, 0.4, 0, 0.57, 0.1],
    [0.5, 0.8, 0.57, 0, 0.35],
    [0.95, 0.3, 0.1, 0.35, 0],
  ];

  it('semi-hard: exactly the triplets with d(a,p) < d(a,n) < d(a,p) + margin', () => {
    // (1,0,4): 0.2 < 0.3 < 0.4; (2,1,3): 0.4 < 0.57 < 0.6; (3,4,0): 0.35 < 0.5 < 0.55.
    // Not (1,2,4): 0.3 < 0.4, a hard negative; not (0,1,3): 0.5 beyond 0.2 + 0.2, an easy one.
    expect(sortTriplets(mineTriplets(D, labels, { strategy: 'semi-hard', margin: 0.2 }))).toEqual([
      '1,0,4',
      '2,1,3',
      '3,4,0',
    ]);
    // A wider margin takes in (0,1,3): 0.2 < 0.5 < 0.6, and others.
    expect(mineTriplets(D, labels, { strategy: 'semi-hard', margin: 0.4 }).map((t) => t.join(','))).toContain('0,1,3');
  });

  it('hard: per anchor its farthest positive and its nearest negative', () => {
    expect(sortTriplets(mineTriplets(D, labels, { strategy: 'hard', margin: 0.2 }))).toEqual([
      '0,2,3',
      '1,2,4',
      '2,0,4',
      '3,4,0',
      '4,3,2',
    ]);
  });

  it('batch-all: every valid triplet, once', () => {
    const all = mineTriplets(D, labels, { strategy: 'batch-all', margin: 0.2 });
    expect(all).toHaveLength(18);
    expect(new Set(all.map((t) => t.join(','))).size).toBe(18);
    for (const [a, p, n] of all) {
      expect(a).not.toBe(p);
      expect(labels[p]).toBe(labels[a]);
      expect(labels[n]).not.toBe(labels[a]);
    }
  });

  it('random: one valid negative per anchor-positive pair, reproducible from the seed', () => {
    const picked = mineTriplets(D, labels, { strategy: 'random', margin: 0.2, rng: new Rng(7) });
    expect(picked.map(([a, p]) => `${a},${p}`)).toEqual(['0,1', '0,2', '1,0', '1,2', '2,0', '2,1', '3,4', '4,3']);
    for (const [a, , n] of picked) expect(labels[n]).not.toBe(labels[a]);
    expect(mineTriplets(D, labels, { strategy: 'random', margin: 0.2, rng: new Rng(7) })).toEqual(picked);
  });

  it('takes a flat row-major matrix like rows, skips anchors without positives, counts active triplets', () => {
    expect(mineTriplets(Float32Array.from(D.flat()), labels, { strategy: 'hard', margin: 0.2 })).toEqual(
      mineTriplets(D, labels, { strategy: 'hard', margin: 0.2 }),
    );
    // Person 2 (index 2) has a single image: never an anchor, still a negative.
    const t = mineTriplets(
      [
        [0, 1, 2],
        [1, 0, 3],
        [2, 3, 0],
      ],
      ['a', 'a', 'b'],
      { strategy: 'batch-all', margin: 1 },
    );
    expect(sortTriplets(t)).toEqual(['0,1,2', '1,0,2']);
    // (0,1,2): 1 - 2 + 1 = 0, not active; (1,0,2): 1 - 3 + 1 < 0.
    expect(
      activeTriplets(
        [
          [0, 1, 2],
          [1, 0, 3],
          [2, 3, 0],
        ],
        ['a', 'a', 'b'],
        1,
      ),
    ).toEqual({ valid: 2, active: 0 });
    // d(a,n) < d(a,p) + 0.2: the 3 semi-hard ones, and (0,2,3), (1,2,4), (2,0,3), (2,0,4), (2,1,4), (4,3,1), (4,3,2).
    expect(activeTriplets(D, labels, 0.2)).toEqual({ valid: 18, active: 10 });
    expect(() => mineTriplets([[0, 1]], labels, { strategy: 'hard', margin: 0.2 })).toThrow(RangeError);
  });
});

describe('P x K sampler', () => {
  it('puts P different people with K images each in every batch, every person once per epoch', () => {
    const labels = Array.from({ length: 7 }, (_, person) =>
      Array.from({ length: person === 6 ? 1 : 5 }, () => `p${person}`),
    ).flat();
    const sampler = new PKSampler(labels, { p: 3, k: 4 });
    expect(sampler.people).toHaveLength(6); // p6 has one image: never an anchor
    const batches = sampler.epoch(new Rng(3));
    expect(batches).toHaveLength(2);
    const seen = new Set<string>();
    for (const batch of batches) {
      expect(batch).toHaveLength(12);
      expect(new Set(batch).size).toBe(12);
      const people = [...new Set(batch.map((i) => labels[i]))];
      expect(people).toHaveLength(3);
      for (const p of people) {
        expect(batch.filter((i) => labels[i] === p)).toHaveLength(4);
        seen.add(p);
      }
    }
    expect(seen.size).toBe(6);
    expect(() => new PKSampler(['a', 'b'], { p: 2, k: 2 })).toThrow(RangeError);
  });
});

/** 12 people, 6 noisy 16-D vectors each, identity in the first 4 dimensions and nuisance in the rest. */
function syntheticEmbeddings(seed: number) {
  const rand = prng(seed);
  const vectors: Float32Array[] = [];
  const labels: string[] = [];
  for (let person = 0; person < 12; person++) {
    const centre = Array.from({ length: 4 }, () => gaussian(rand));
    for (let j = 0; j < 6; j++) {
      const v = new Float32Array(16);
      for (let i = 0; i < 4; i++) v[i] = centre[i] + 0.15 * gaussian(rand);
      for (let i = 4; i < 16; i++) v[i] = 1.5 * gaussian(rand);
      vectors.push(v);
      labels.push(`p${person}`);
    }
  }
  return { vectors, labels };
}

function tensorData(vectors: Float32Array[], labels: string[]): TripletData {
  const d = vectors[0].length;
  return {
    labels,
    batch: (indices) => {
      const flat = new Float32Array(indices.length * d);
      indices.forEach((i, r) => {
        flat.set(vectors[i], r * d);
      });
      return tf.tensor2d(flat, [indices.length, d]);
    },
  };
}

describe('triplet training of an adapter', () => {
  const options = {
    margin: 0.2,
    mining: 'batch-all' as const,
    distance: 'squared' as const,
    p: 4,
    k: 4,
    learningRate: 0.01,
    seed: 5,
  };

  it('lowers the loss and the share of active triplets, and resumes from a checkpoint exactly', async () => {
    const { vectors, labels } = syntheticEmbeddings(11);
    const data = tensorData(vectors, labels);
    const config = { inputSize: 16, hiddenSize: 16, outputSize: 8, seed: 3 };

    const straight = EmbeddingAdapter.create(tf, config);
    const full = await trainTriplet(tf, straight, data, { ...options, epochs: 12 });
    expect(full.history).toHaveLength(12);
    const first = full.history.slice(0, 3);
    const last = full.history.slice(-3);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(last.map((h) => h.loss))).toBeLessThan(0.5 * mean(first.map((h) => h.loss)));
    expect(mean(last.map((h) => h.activeShare))).toBeLessThan(mean(first.map((h) => h.activeShare)));
    expect(full.history[0].mined).toBe(3 * 4 * 4 * 3 * 12); // 3 batches x 16 anchors x 3 positives x 12 negatives

    const dir = path.join(tmp, 'resume');
    const interrupted = EmbeddingAdapter.create(tf, config);
    await trainTriplet(tf, interrupted, data, { ...options, epochs: 5, checkpointDir: dir });
    interrupted.dispose();
    const resumed = EmbeddingAdapter.create(tf, config);
    const rest = await trainTriplet(tf, resumed, data, { ...options, epochs: 12, checkpointDir: dir, resume: true });
    expect(rest.resumedFrom).toBe(5);
    expect(rest.history).toHaveLength(12);
    rest.history.forEach((h, i) => {
      expect(h.loss).toBeCloseTo(full.history[i].loss, 4);
    });
    const a = straight.adapt(vectors.slice(0, 5));
    const b = resumed.adapt(vectors.slice(0, 5));
    a.forEach((v, i) => {
      v.forEach((x, j) => {
        expect(b[i][j]).toBeCloseTo(x, 4);
      });
    });
    straight.dispose();
    resumed.dispose();
  });

  it('trains with every miner without failing', async () => {
    const { vectors, labels } = syntheticEmbeddings(12);
    const tensorsBefore = tf.memory().numTensors;
    for (const mining of ['semi-hard', 'hard', 'random'] as const) {
      const net = EmbeddingAdapter.create(tf, { inputSize: 16, hiddenSize: 0, outputSize: 8 });
      const { history } = await trainTriplet(tf, net, tensorData(vectors, labels), { ...options, mining, epochs: 3 });
      expect(history.every((h) => Number.isFinite(h.loss) && h.mined > 0)).toBe(true);
      if (mining === 'semi-hard') expect(history.every((h) => h.minedActive === h.mined)).toBe(true);
      if (mining === 'hard') expect(history[0].mined).toBe(3 * 16);
      net.dispose();
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore); // nothing leaks per step
  });

  it('saves and loads an adapter that gives the same outputs', async () => {
    const { vectors } = syntheticEmbeddings(13);
    const adapter = EmbeddingAdapter.create(
      tf,
      { inputSize: 16, hiddenSize: 16, outputSize: 8, seed: 9 },
      { baseModel: 'test-model' },
    );
    const dir = path.join(tmp, 'adapter');
    await adapter.save(dir, { training: { margin: 0.2 } });
    const loaded = await EmbeddingAdapter.load(tf, dir);
    expect(loaded.metadata).toMatchObject({
      format: 'facepipe.adapter/v1',
      inputSize: 16,
      outputSize: 8,
      baseModel: 'test-model',
      training: { margin: 0.2 },
    });
    expect(loaded.metadata.id).toMatch(/^adapter-[0-9a-f]{16}$/);
    const again = await EmbeddingAdapter.load(tf, dir);
    expect(again.metadata.id).toBe(loaded.metadata.id);
    again.dispose();
    const before = adapter.adapt(vectors);
    const after = loaded.adapt(vectors);
    expect(after).toEqual(before);
    for (const v of after) expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    await expect(EmbeddingAdapter.load(tf, path.join(tmp, 'missing'))).rejects.toThrow(/cannot read the model/);
    adapter.dispose();
    loaded.dispose();
  });

  it('residual: starts as the normalised embedding itself, learns a correction, and saves and loads', async () => {
    const { vectors, labels } = syntheticEmbeddings(14);
    const adapter = EmbeddingAdapter.create(tf, {
      inputSize: 16,
      hiddenSize: 8,
      outputSize: 16,
      residual: true,
      seed: 3,
    });
    const start = adapter.adapt(vectors);
    start.forEach((v, i) => {
      const norm = Math.hypot(...vectors[i]);
      v.forEach((x, k) => {
        expect(x).toBeCloseTo(vectors[i][k] / norm, 5);
      });
    });
    const flat = (indices: number[]) =>
      tf.tensor2d(
        indices.flatMap((i) => Array.from(vectors[i])),
        [indices.length, 16],
      );
    await trainTriplet(
      tf,
      adapter,
      { labels, batch: flat },
      { margin: 0.2, mining: 'batch-all', distance: 'squared', epochs: 3, p: 4, k: 3, learningRate: 0.01, seed: 1 },
    );
    const trained = adapter.adapt(vectors);
    expect(trained.some((v, i) => v.some((x, k) => Math.abs(x - start[i][k]) > 1e-3))).toBe(true);
    const dir = path.join(tmp, 'residual');
    await adapter.save(dir);
    const loaded = await EmbeddingAdapter.load(tf, dir);
    expect(loaded.adapt(vectors)).toEqual(trained);
    expect(() => EmbeddingAdapter.create(tf, { inputSize: 16, hiddenSize: 8, outputSize: 8, residual: true })).toThrow(
      /keeps the input size/,
    );
    adapter.dispose();
    loaded.dispose();
  });
});
