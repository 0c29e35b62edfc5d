import { loadLayersModel } from '../engine/model-files.js';
import { saveLayersModel } from './model-files.js';
import type { Rng } from './rng.js';
import type { LayersModel, Tf } from './tf-types.js';

/** Recorded in the classifier's model.json (userDefinedMetadata.facepipe). */
export const PAIR_CLASSIFIER_FORMAT = 'facepipe.pair-classifier/v1';

export interface PairClassifierMetadata extends Record<string, unknown> {
  format: typeof PAIR_CLASSIFIER_FORMAT;
  /** Size of one embedding; the features are twice as long. */
  embeddingSize: number;
  /** Per-feature standardisation learnt on the training pairs (the logistic layer sees (x - mean) / std). */
  featureMean: number[];
  featureStd: number[];
  baseModel?: string;
  training?: Record<string, unknown>;
  createdAt?: string;
  /** Set on load: "verifier-" + the first 16 hex digits of the SHA-256 of model.json and weights.bin. */
  id?: string;
}

/** A pair's features: |f1 - f2| then f1 * f2, elementwise (symmetric in the two faces). */
export function pairFeatures(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  out = new Float32Array(2 * a.length),
  offset = 0,
): Float32Array {
  if (a.length !== b.length) throw new Error(`embedding sizes differ: ${a.length} vs ${b.length}`);
  const d = a.length;
  for (let i = 0; i < d; i++) {
    out[offset + i] = Math.abs(a[i] - b[i]);
    out[offset + d + i] = a[i] * b[i];
  }
  return out;
}

export interface LabelledPair {
  i: number;
  j: number;
  same: boolean;
}

/**
 * Balanced same/different pairs over items with these labels: up to `maxPerClass` genuine pairs
 * (all of them when fewer), and as many impostor pairs drawn at random without repeats.
 */
export function balancedPairs(labels: readonly string[], rng: Rng, maxPerClass = 20_000): LabelledPair[] {
  const genuine: LabelledPair[] = [];
  for (let i = 0; i < labels.length; i++)
    for (let j = i + 1; j < labels.length; j++) if (labels[i] === labels[j]) genuine.push({ i, j, same: true });
  const kept = rng.sample(genuine, maxPerClass);
  const people = new Set(labels).size;
  if (kept.length === 0 || people < 2)
    throw new RangeError('balancedPairs: need 2+ people and one person with 2+ images');
  const impostorCount = (labels.length * (labels.length - 1)) / 2 - genuine.length;
  const wanted = Math.min(kept.length, impostorCount);
  const seen = new Set<number>();
  const impostors: LabelledPair[] = [];
  while (impostors.length < wanted) {
    let i = rng.int(labels.length);
    let j = rng.int(labels.length);
    if (i === j || labels[i] === labels[j]) continue;
    if (i > j) [i, j] = [j, i];
    const key = i * labels.length + j;
    if (seen.has(key)) continue;
    seen.add(key);
    impostors.push({ i, j, same: false });
  }
  return rng.shuffle([...kept, ...impostors]);
}

export interface PairTrainingOptions {
  epochs: number;
  learningRate: number;
  batchSize: number;
  /** L2 penalty on the weights. */
  l2: number;
  rng: Rng;
  maxPairsPerClass?: number;
  onEpoch?: (epoch: number, logs: { loss: number; accuracy: number }) => void;
}

/**
 * Verification as binary classification (the FaceNet paper's alternative; DeepFace's siamese
 * head): a logistic unit on a pair's standardised features, P(same person).
 */
export class PairClassifier {
  constructor(
    private readonly tf: Tf,
    readonly model: LayersModel,
    readonly metadata: PairClassifierMetadata,
  ) {}

  static async train(
    tf: Tf,
    embeddings: readonly ArrayLike<number>[],
    labels: readonly string[],
    options: PairTrainingOptions,
    metadata: Partial<PairClassifierMetadata> = {},
  ): Promise<PairClassifier> {
    if (embeddings.length !== labels.length) throw new Error('PairClassifier.train: one label per embedding');
    const d = embeddings[0]?.length ?? 0;
    const pairs = balancedPairs(labels, options.rng, options.maxPairsPerClass);
    const f = 2 * d;
    const features = new Float32Array(pairs.length * f);
    pairs.forEach((p, r) => {
      pairFeatures(embeddings[p.i], embeddings[p.j], features, r * f);
    });
    const mean = new Array<number>(f).fill(0);
    const std = new Array<number>(f).fill(0);
    for (let r = 0; r < pairs.length; r++) for (let c = 0; c < f; c++) mean[c] += features[r * f + c] / pairs.length;
    for (let r = 0; r < pairs.length; r++)
      for (let c = 0; c < f; c++) std[c] += (features[r * f + c] - mean[c]) ** 2 / pairs.length;
    for (let c = 0; c < f; c++) std[c] = Math.sqrt(std[c]) || 1;
    for (let r = 0; r < pairs.length; r++)
      for (let c = 0; c < f; c++) features[r * f + c] = (features[r * f + c] - mean[c]) / std[c];

    const model = tf.sequential();
    model.add(
      tf.layers.dense({
        inputShape: [f],
        units: 1,
        activation: 'sigmoid',
        kernelInitializer: 'zeros',
        kernelRegularizer: options.l2 > 0 ? tf.regularizers.l2({ l2: options.l2 }) : undefined,
      }),
    );
    model.compile({
      optimizer: tf.train.adam(options.learningRate),
      loss: 'binaryCrossentropy',
      metrics: ['accuracy'],
    });
    const x = tf.tensor2d(features, [pairs.length, f]);
    const y = tf.tensor2d(
      pairs.map((p) => (p.same ? 1 : 0)),
      [pairs.length, 1],
    );
    try {
      await model.fit(x, y, {
        epochs: options.epochs,
        batchSize: options.batchSize,
        shuffle: true,
        verbose: 0,
        callbacks: {
          onEpochEnd: async (epoch, logs) =>
            options.onEpoch?.(epoch + 1, { loss: Number(logs?.loss), accuracy: Number(logs?.acc ?? logs?.accuracy) }),
        },
      });
    } finally {
      x.dispose();
      y.dispose();
    }
    return new PairClassifier(tf, model, {
      ...metadata,
      format: PAIR_CLASSIFIER_FORMAT,
      embeddingSize: d,
      featureMean: mean,
      featureStd: std,
    });
  }

  /** With `embeddingModel`, refuses a classifier trained on another model's (or adapter's) embeddings. */
  static async load(tf: Tf, dir: string, embeddingModel?: string): Promise<PairClassifier> {
    const { model, metadata, sha256 } = await loadLayersModel(tf, dir);
    const meta = metadata.facepipe as PairClassifierMetadata | undefined;
    if (meta?.format !== PAIR_CLASSIFIER_FORMAT)
      throw new Error(`${dir}: not a facepipe pair classifier (model.json has no ${PAIR_CLASSIFIER_FORMAT} metadata)`);
    if (embeddingModel !== undefined && meta.baseModel !== embeddingModel) {
      model.dispose();
      throw new Error(
        `${dir}: a pair classifier of ${meta.baseModel ?? 'unknown'} embeddings, these are ${embeddingModel} (train it with the same --adapter)`,
      );
    }
    return new PairClassifier(tf, model, { ...meta, id: `verifier-${sha256.slice(0, 16)}` });
  }

  async save(dir: string, extra: Partial<PairClassifierMetadata> = {}): Promise<void> {
    const { id: _id, ...saved } = { ...this.metadata, ...extra }; // the id is the saved files' hash, set on load
    await saveLayersModel(this.tf, this.model, dir, { facepipe: { ...saved, createdAt: new Date().toISOString() } });
  }

  /** P(same person) for each pair of embeddings. */
  probabilities(pairs: readonly (readonly [ArrayLike<number>, ArrayLike<number>])[]): number[] {
    const { tf } = this;
    const { embeddingSize: d, featureMean: mean, featureStd: std } = this.metadata;
    const f = 2 * d;
    const features = new Float32Array(pairs.length * f);
    pairs.forEach(([a, b], r) => {
      if (a.length !== d || b.length !== d)
        throw new Error(`pair classifier expects ${d}-D embeddings, got ${a.length} and ${b.length}`);
      pairFeatures(a, b, features, r * f);
      for (let c = 0; c < f; c++) features[r * f + c] = (features[r * f + c] - mean[c]) / std[c];
    });
    if (pairs.length === 0) return [];
    return Array.from(
      tf.tidy(() =>
        (this.model.predict(tf.tensor2d(features, [pairs.length, f])) as import('@tensorflow/tfjs').Tensor).dataSync(),
      ),
    );
  }

  probability(a: ArrayLike<number>, b: ArrayLike<number>): number {
    return this.probabilities([[a, b]])[0];
  }

  dispose(): void {
    this.model.dispose();
  }
}
