import { beforeAll, describe, expect, it } from 'vitest';
import { demoOptions } from '../bench/demo-triplet/demo-options.js';
import { PairVerification } from '../bench/demo-triplet/pair-verification.js';
import { faceDistance } from '../src/engine/face-distance.js';
import { selectBackend, type BackendName } from '../src/engine/tf-backend.js';
import type { EmbeddingNet } from '../src/training/embedding-net.js';
import type { Tensor, Tensor2D, Tf } from '../src/training/tf-types.js';

let tf: Tf;

beforeAll(async () => {
  tf = (await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined)).tf;
});

const frame = { width: 4, height: 5 };
const image = (value: number) => new Float32Array(frame.width * frame.height).fill(value);

/** Embeds an image as the unit vector at the angle (radians) of its mean pixel value, times `turn`. */
function angleNet(turn = 1): EmbeddingNet {
  return {
    variables: [],
    embed: (x: Tensor) =>
      tf.tidy(() => {
        const angle = tf.mul(tf.mean(x, [1, 2, 3]), turn);
        return tf.stack([tf.cos(angle), tf.sin(angle)], 1) as Tensor2D;
      }),
  };
}

/** Three subjects of four images; b was photographed in two sessions, 0.6 rad apart; every other gap is 1 rad or more. */
function threeSubjects(): PairVerification {
  const values = [0, 0, 0, 0, 1, 1, 1.6, 1.6, 2.6, 2.6, 2.6, 2.6];
  const labels = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c', 'c', 'c', 'c'];
  return new PairVerification(tf, frame, values.map(image), labels);
}

describe('PairVerification', () => {
  it('scores every same-person pair once and as many distinct different-person pairs', () => {
    const verification = threeSubjects();
    const same = verification.pairs.filter((p) => p.same);
    const different = verification.pairs.filter((p) => !p.same);
    expect(same).toHaveLength(18); // 3 subjects x C(4, 2)
    expect(different).toHaveLength(18);
    for (const {
      p: [i, j],
      same: isSame,
    } of verification.pairs) {
      expect(i).toBeLessThan(j);
      expect(verification.labels[i] === verification.labels[j]).toBe(isSame);
    }
    expect(new Set(verification.pairs.map(({ p }) => p.join()))).toHaveProperty('size', 36);
    // Seeded: a second instance scores the same pairs.
    expect(threeSubjects().pairs).toEqual(verification.pairs);
  });

  it('is perfect when every same pair is closer than every different pair, and counts the errors by subject', () => {
    const verification = threeSubjects();
    const result = verification.accuracy([angleNet()], { mirror: true, shift: 0 });
    expect(result.accuracy).toBe(1);

    // A threshold below b's session gap: exactly b's 4 cross-session pairs are missed.
    const strict = verification.errorsBySubject({ ...result, threshold: 0.1 });
    expect(Object.fromEntries(strict)).toEqual({
      a: { same: 6, misses: 0, falseMatches: 0 },
      b: { same: 6, misses: 4, falseMatches: 0 },
      c: { same: 6, misses: 0, falseMatches: 0 },
    });

    // A threshold just above a 1 rad gap (chord 2 sin(0.5) = 0.959): no misses, and the drawn different pairs 1 rad apart (a-b1, b2-c) become false matches.
    const lenient = verification.errorsBySubject({ ...result, threshold: 0.99 });
    const values = [0, 0, 0, 0, 1, 1, 1.6, 1.6, 2.6, 2.6, 2.6, 2.6];
    const expected = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (const {
      p: [i, j],
      same,
    } of verification.pairs) {
      if (!same && Math.abs(values[i] - values[j]) < 1.01) for (const k of [i, j]) expected[verification.labels[k]]++;
    }
    expect(expected.b).toBeGreaterThan(0);
    for (const [name, c] of lenient) expect([c.misses, c.falseMatches]).toEqual([0, expected[name]]);
  });

  it('scores an ensemble by the mean of its nets squared distances, as unit vectors', () => {
    const verification = threeSubjects();
    const nets = [angleNet(1), angleNet(0.5)];
    const options = { mirror: false, shift: 0 };
    const joined = verification.embed(nets, verification.images, options);
    const each = nets.map((net) => verification.embed([net], verification.images, options));
    for (const v of joined) expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    const [i, j] = [0, 9];
    const mean = (faceDistance(each[0][i], each[0][j]) ** 2 + faceDistance(each[1][i], each[1][j]) ** 2) / 2;
    expect(faceDistance(joined[i], joined[j]) ** 2).toBeCloseTo(mean, 5);
  });
});

describe('demoOptions', () => {
  it('defaults to the configuration docs/training.md reports', () => {
    const options = demoOptions([]);
    expect(options).toMatchObject({
      epochs: 40,
      mining: 'batch-all',
      margin: 0.2,
      channels: [16, 32, 64],
      p: 10,
      k: 5,
      dropout: 0.3,
      'train-subjects': 30,
      ensemble: 1,
    });
    expect(options['test-offset']).toBeUndefined();
  });

  it('names each bad flag', () => {
    expect(() => demoOptions(['--epochs', 'ten'])).toThrow(/--epochs/);
    expect(() => demoOptions(['--mining', 'hardest'])).toThrow(/--mining: .*batch-all/);
    expect(() => demoOptions(['--channels', '16,x'])).toThrow(/--channels\[1\]/);
    expect(() => demoOptions(['--kernel', '4'])).toThrow(/--kernel: expected an odd kernel size/);
    expect(() => demoOptions(['--joint'])).toThrow(/--joint needs --pretrain/);
    expect(() => demoOptions(['--no-such-flag'])).toThrow(/no-such-flag/);
  });
});
