import { describe, expect, it, beforeAll } from 'vitest';
import { selectBackend, type BackendName } from '../src/engine/tf-backend.js';
import { downscaleGrey, parsePgm } from '../bench/demo-triplet/pgm.js';
import { SmallCnn, trainableConv2d } from '../bench/demo-triplet/small-cnn.js';
import type { Tensor, Tensor4D, Tf } from '../src/training/tf-types.js';

let tf: Tf;

beforeAll(async () => {
  tf = (await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined)).tf;
});

describe('trainableConv2d', () => {
  it('computes what tf.conv2d computes, and has a filter gradient on every backend', () => {
    const x = tf.randomNormal([2, 7, 5, 3], 0, 1, 'float32', 1) as Tensor4D;
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as Tensor4D;
    const reference = tf.conv2d(x, w, 1, 'same');
    const im2col = trainableConv2d(tf, x, w, true);
    expect(im2col.shape).toEqual([2, 7, 5, 4]);
    const a = reference.dataSync();
    const b = im2col.dataSync();
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i], 4);
    // d/dw of sum(conv(x, w)) = for each tap, the sum of the (zero-padded) input it sees.
    const g = tf.grad((filter) => tf.sum(trainableConv2d(tf, x, filter as Tensor4D)))(w);
    expect(g.shape).toEqual([3, 3, 3, 4]);
    const centre = tf.sum(x, [0, 1, 2]).dataSync(); // the centre tap sees every pixel
    const gv = g.arraySync() as number[][][][];
    for (let c = 0; c < 3; c++) for (let o = 0; o < 4; o++) expect(gv[1][1][c][o]).toBeCloseTo(centre[c], 3);
    tf.dispose([x, w, reference, im2col, g, centre]);
  });
});

describe('SmallCnn', () => {
  it('maps grey images to unit vectors and lets gradients reach every variable', () => {
    const net = new SmallCnn(tf, { height: 12, width: 10, channels: [4, 8], embeddingSize: 6, seed: 3 });
    const x = tf.randomUniform([5, 12, 10, 1], 0, 1, 'float32', 4);
    const e = net.embed(x, false);
    expect(e.shape).toEqual([5, 6]);
    for (const norm of tf.norm(e, 2, 1).dataSync()) expect(norm).toBeCloseTo(1, 5);
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(net.embed(x, true), tf.range(0, 6).reshape([1, 6]))),
      net.variables,
    );
    expect(Object.keys(grads)).toHaveLength(net.variables.length);
    for (const g of Object.values(grads)) expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, e, ...Object.values(grads)]);
    net.dispose();
  });
});

describe('SmallCnn with a bottleneck', () => {
  it('puts a 1x1 convolution of the given width before the dense layer, and trains it', () => {
    const plain = new SmallCnn(tf, { height: 12, width: 10, channels: [4, 8], embeddingSize: 6, seed: 3 });
    const net = new SmallCnn(tf, { height: 12, width: 10, channels: [4, 8], embeddingSize: 6, bottleneck: 3, seed: 3 });
    expect(net.variables).toHaveLength(plain.variables.length + 1);
    const shapes = net.variables.map((v) => v.shape.join('x'));
    // 12x10 -> 6x5 -> 3x3 after two poolings: the dense layer sees 3 x 3 positions x 3 channels instead of x 8.
    expect(shapes).toContain('1x1x8x3');
    expect(shapes.at(-2)).toBe('27x6');
    expect(plain.variables.map((v) => v.shape.join('x')).at(-2)).toBe('72x6');
    expect(net.weights.map((v) => v.shape.join('x'))).toContain('1x1x8x3');
    const x = tf.randomUniform([5, 12, 10, 1], 0, 1, 'float32', 4);
    const e = net.embed(x, false);
    expect(e.shape).toEqual([5, 6]);
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(net.embed(x, true), tf.range(0, 6).reshape([1, 6]))),
      net.variables,
    );
    for (const g of Object.values(grads)) expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, e, ...Object.values(grads)]);
    net.dispose();
    plain.dispose();
  });
});

describe('parsePgm', () => {
  it('reads a binary P5 image with a comment, and rescales a smaller maxval', () => {
    const header = new TextEncoder().encode('P5\n# a comment\n3 2\n255\n');
    const bytes = new Uint8Array([...header, 0, 10, 20, 30, 40, 255]);
    expect(parsePgm(bytes)).toEqual({ width: 3, height: 2, data: new Uint8Array([0, 10, 20, 30, 40, 255]) });
    const small = new Uint8Array([...new TextEncoder().encode('P5 2 1 15 '), 15, 5]);
    expect(Array.from(parsePgm(small).data)).toEqual([255, 85]);
    expect(() => parsePgm(new TextEncoder().encode('P2\n1 1\n255\n0'))).toThrow(/P5/);
    expect(() => parsePgm(new Uint8Array([...header, 1, 2]))).toThrow(/truncated/);
  });

  it('downscales by averaging blocks', () => {
    const image = { width: 4, height: 2, data: new Uint8Array([0, 2, 4, 6, 2, 4, 6, 8]) };
    expect(downscaleGrey(image, 2)).toEqual({ width: 2, height: 1, data: new Float32Array([2, 6]) });
  });
});

describe('SmallCnn dropout', () => {
  it('draws its masks from the seed: two nets with one seed train alike, each step with a new mask', () => {
    const config = { height: 8, width: 6, channels: [4], embeddingSize: 5, dropout: 0.5, seed: 7 };
    const a = new SmallCnn(tf, config);
    const b = new SmallCnn(tf, config);
    const x = tf.randomUniform([3, 8, 6, 1], 0, 1, 'float32', 1);
    const a1 = a.embed(x, true).arraySync();
    const a2 = a.embed(x, true).arraySync();
    expect(b.embed(x, true).arraySync()).toEqual(a1);
    expect(b.embed(x, true).arraySync()).toEqual(a2);
    expect(a2).not.toEqual(a1);
    // No dropout at inference.
    expect(a.embed(x, false).arraySync()).toEqual(b.embed(x, false).arraySync());
    x.dispose();
    a.dispose();
    b.dispose();
  });
});

describe('SmallCnn with batch normalisation', () => {
  it('normalises with batch statistics while training, with their running averages at inference', () => {
    const net = new SmallCnn(tf, {
      height: 8,
      width: 6,
      channels: [4, 6],
      convsPerBlock: 2,
      norm: 'batch',
      normMomentum: 0.5,
      embeddingSize: 5,
      seed: 2,
    });
    // Per conv: filter, gamma, beta; then the dense kernel and bias. Running mean and variance per conv.
    expect(net.variables).toHaveLength(4 * 3 + 2);
    expect(net.state).toHaveLength(4 * 2);
    expect(net.weights).toHaveLength(4 + 1);
    const x = tf.randomUniform([4, 8, 6, 1], 0, 1, 'float32', 3);
    const before = net.embed(x, false).arraySync();
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(net.embed(x, true), tf.range(0, 5).reshape([1, 5]))),
      net.variables,
    );
    expect(Object.keys(grads)).toHaveLength(net.variables.length);
    for (const g of Object.values(grads)) expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    // The training step moved the running averages halfway to the first conv's batch statistics.
    const { mean, variance } = tf.moments(
      tf.conv2d(x as Tensor4D, net.weights[0] as Tensor as Tensor4D, 1, 'same'),
      [0, 1, 2],
    );
    const [runningMean, runningVar] = net.state.map((s) => s.dataSync());
    mean.dataSync().forEach((m, c) => {
      expect(runningMean[c]).toBeCloseTo(m / 2, 4);
    });
    variance.dataSync().forEach((v, c) => {
      expect(runningVar[c]).toBeCloseTo(0.5 + v / 2, 4);
    });
    const after = net.embed(x, false);
    expect(after.arraySync()).not.toEqual(before);
    for (const norm of tf.norm(after, 2, 1).dataSync()) expect(norm).toBeCloseTo(1, 5);
    tf.dispose([x, mean, variance, after, ...Object.values(grads)]);
    net.dispose();
  });
});
