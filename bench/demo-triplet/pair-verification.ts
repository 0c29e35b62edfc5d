import { faceDistance } from '../../src/engine/face-distance.js';
import type { ScoredPair } from '../../src/evaluation/types.js';
import { crossValidate } from '../../src/evaluation/verification-metrics.js';
import type { EmbeddingNet } from '../../src/training/embedding-net.js';
import { Rng } from '../../src/training/rng.js';
import type { Tensor4D, Tf } from '../../src/training/tf-types.js';
import { warp } from './augmentation.js';

/** How test images are embedded. */
export interface EmbedOptions {
  /** Each image's embedding averaged with its mirror image's (the engine's flip TTA). */
  mirror: boolean;
  /** Also the image shifted by this many pixels in 4 directions (0: not). */
  shift: number;
}

export interface VerificationResult {
  /** Cross-validated over 10 folds, each fold's threshold chosen on the other 9. */
  accuracy: number;
  std: number;
  /** The threshold chosen on all pairs. */
  threshold: number;
  /** Each pair's distance, in the order of `pairs`. */
  scored: ScoredPair[];
}

/**
 * Verification on the unseen subjects' images: every same-person pair and as many different-person
 * pairs drawn at random (seeded: every run scores the same pairs), scored by the Euclidean distance
 * of the embeddings; a list of nets is scored as an ensemble (mean of their squared distances).
 */
export class PairVerification {
  readonly pairs: { p: [number, number]; same: boolean }[];

  constructor(
    private readonly tf: Tf,
    private readonly frame: { width: number; height: number },
    readonly images: readonly Float32Array[],
    readonly labels: readonly string[],
  ) {
    const genuine: [number, number][] = [];
    const impostor: [number, number][] = [];
    for (let i = 0; i < images.length; i++) {
      for (let j = i + 1; j < images.length; j++) (labels[i] === labels[j] ? genuine : impostor).push([i, j]);
    }
    this.pairs = [
      ...genuine.map((p) => ({ p, same: true })),
      ...new Rng(12345).sample(impostor, genuine.length).map((p) => ({ p, same: false })),
    ];
  }

  get sameCount(): number {
    return this.pairs.filter((p) => p.same).length;
  }

  /** Accuracy over the pairs; `centre`: the embeddings centred on it (and renormalised) first. */
  accuracy(nets: readonly EmbeddingNet[], options: EmbedOptions, centre?: Float32Array): VerificationResult {
    const e = this.embed(nets, this.images, options).map((v) => (centre ? centred(v, centre) : v));
    return this.scoredBy((i, j) => faceDistance(e[i], e[j]));
  }

  /** Accuracy when a pair is as close as its closest views over these magnifications of either image (the other kept at 1). */
  scaleSearchAccuracy(
    nets: readonly EmbeddingNet[],
    options: EmbedOptions,
    scales: readonly number[],
  ): VerificationResult {
    const { width, height } = this.frame;
    const views = scales.map((scale) =>
      this.embed(
        nets,
        scale === 1
          ? this.images
          : this.images.map((im) => warp(im, width, height, { flip: false, angle: 0, scale, dx: 0, dy: 0 })),
        options,
      ),
    );
    const plain = views[scales.indexOf(1)] ?? this.embed(nets, this.images, options);
    return this.scoredBy((i, j) =>
      Math.min(...views.flatMap((v) => [faceDistance(v[i], plain[j]), faceDistance(plain[i], v[j])])),
    );
  }

  /**
   * Where the errors are, at the threshold chosen on all pairs: per subject, the misses among its
   * same-person pairs and the false matches (different pairs judged same) it takes part in.
   */
  errorsBySubject(result: VerificationResult): Map<string, { same: number; misses: number; falseMatches: number }> {
    const count = new Map([...new Set(this.labels)].map((name) => [name, { same: 0, misses: 0, falseMatches: 0 }]));
    this.pairs.forEach(({ p: [i, j], same }, n) => {
      const match = result.scored[n].score! <= result.threshold;
      if (same) {
        const c = count.get(this.labels[i])!;
        c.same++;
        if (!match) c.misses++;
      } else if (match) {
        for (const k of [i, j]) count.get(this.labels[k])!.falseMatches++;
      }
    });
    return count;
  }

  /**
   * Unit embeddings of the images; for several nets their embeddings side by side, scaled by
   * 1/sqrt(nets): the squared distance is the mean of the nets' squared distances, and the vector
   * stays a unit vector.
   */
  embed(nets: readonly EmbeddingNet[], images: readonly Float32Array[], options: EmbedOptions): Float32Array[] {
    const each = nets.map((net) => this.embedWith(net, images, options));
    if (each.length === 1) return each[0];
    const scale = 1 / Math.sqrt(each.length);
    return images.map((_, i) => {
      const joined = new Float32Array(each.reduce((n, e) => n + e[i].length, 0));
      let at = 0;
      for (const e of each) {
        joined.set(
          e[i].map((x) => x * scale),
          at,
        );
        at += e[i].length;
      }
      return joined;
    });
  }

  private scoredBy(distance: (i: number, j: number) => number): VerificationResult {
    const scored: ScoredPair[] = this.pairs.map(({ p: [i, j], same }) => ({ score: distance(i, j), same }));
    const cv = crossValidate([scored]);
    return { accuracy: cv.accuracy, std: cv.std, threshold: cv.threshold, scored };
  }

  private embedWith(
    net: EmbeddingNet,
    images: readonly Float32Array[],
    { mirror, shift }: EmbedOptions,
  ): Float32Array[] {
    const { tf } = this;
    const { width, height } = this.frame;
    const out: Float32Array[] = [];
    for (let start = 0; start < images.length; start += 50) {
      const chunk = images.slice(start, start + 50);
      const flat = new Float32Array(chunk.length * width * height);
      chunk.forEach((im, i) => {
        flat.set(im, i * width * height);
      });
      const values = tf.tidy(() => {
        const x = tf.tensor4d(flat, [chunk.length, height, width, 1]);
        if (!mirror) return net.embed(x, false).dataSync();
        const views: Tensor4D[] = [x, tf.reverse(x, 2)];
        if (shift > 0) {
          const s = shift;
          const padded = tf.pad(x, [
            [0, 0],
            [s, s],
            [s, s],
            [0, 0],
          ]);
          for (const [dy, dx] of [
            [0, s],
            [2 * s, s],
            [s, 0],
            [s, 2 * s],
          ])
            views.push(tf.slice(padded, [0, dy, dx, 0], [chunk.length, height, width, 1]));
        }
        const sum = views.map((v) => net.embed(v, false)).reduce((a, b) => tf.add(a, b));
        return tf.div(sum, tf.norm(sum, 2, 1, true)).dataSync();
      });
      const d = values.length / chunk.length;
      for (let i = 0; i < chunk.length; i++) out.push(Float32Array.from(values.subarray(i * d, (i + 1) * d)));
    }
    return out;
  }
}

/** The mean of equally long vectors. */
export function meanOf(vectors: readonly Float32Array[]): Float32Array {
  const mean = new Float32Array(vectors[0].length);
  for (const v of vectors)
    v.forEach((x, k) => {
      mean[k] += x / vectors.length;
    });
  return mean;
}

/** v - mean, renormalised to unit length: removes what all faces share. */
function centred(v: Float32Array, mean: Float32Array): Float32Array {
  const d = v.map((x, k) => x - mean[k]);
  const norm = Math.hypot(...d) || 1;
  return d.map((x) => x / norm);
}
