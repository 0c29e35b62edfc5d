import path from 'node:path';
import { faceDistance } from '../engine/face-distance.js';
import { FACE_MODEL } from '../engine/face-model.js';
import { EmbeddingAdapter } from './embedding-adapter.js';
import { calibrateIdentification, pairVerification } from './held-out.js';
import { Rng } from './rng.js';
import {
  prepareTraining,
  writeTrainingReport,
  type EmbedLabelledFolder,
  type TrainingDataOptions,
  dataCounts,
} from './training-data.js';
import type { TripletDistance } from './triplet-loss.js';
import type { MiningStrategy } from './triplet-mining.js';
import { trainTriplet, type EpochStats } from './triplet-trainer.js';

export interface TripletAdapterOptions extends TrainingDataOptions {
  /** Epochs in all (a resumed run continues up to this). */
  epochs: number;
  /** alpha in max(d(A,P) - d(A,N) + alpha, 0). */
  margin: number;
  mining: MiningStrategy;
  distance: TripletDistance;
  /** Continue from <out>/checkpoint/. */
  resume?: boolean;
  /** People per batch, images per person per batch. */
  p: number;
  k: number;
  /** Units of the hidden ReLU layer (0: one linear layer). */
  hidden: number;
  /** Project to this many dimensions (a plain dense adapter); by default residual, same size. */
  outputSize?: number;
  learningRate: number;
}

export interface TripletAdapterHooks {
  embed: EmbedLabelledFolder;
  onResume?: (epoch: number) => void;
  onBatch?: (done: number, total: number) => void;
  onEpoch?: (stats: EpochStats) => void;
}

/** What a run gives: the summary `facepipe train triplet --json` prints, in its order, then the rest. */
export interface TripletAdapterReport {
  out: string;
  epochs: number;
  loss?: number;
  activeShare?: number;
  images: number;
  people: number;
  skipped: number;
  cached: number;
  /** Cross-validated verification accuracy on the held-out people, plain and adapted, on the same pairs. */
  heldOut?: { plain: number; adapted: number; pairs: number };
  seconds: number;
  /** How many people were held out. */
  heldOutPeople: number;
}

/**
 * Trains an embedding adapter with the triplet loss on the labelled folder's embeddings, calibrates
 * its verification and 1:N thresholds on the held-out people, and saves it with training.json in `out`.
 */
export async function trainTripletAdapter(
  options: TripletAdapterOptions,
  hooks: TripletAdapterHooks,
): Promise<TripletAdapterReport> {
  const { data, tf, split } = await prepareTraining(options, hooks.embed);
  const trainLabels = split.train.map((i) => data.labels[i]);
  const trainVectors = split.train.map((i) => data.vectors[i]);
  const { margin, mining, distance, epochs, p, k, learningRate, seed } = options;

  const adapter = EmbeddingAdapter.create(
    tf,
    // Residual unless asked to project: on LFW it lost less on unseen people (docs/training.md).
    {
      inputSize: data.dim,
      hiddenSize: options.hidden,
      outputSize: options.outputSize ?? data.dim,
      residual: options.outputSize === undefined,
      seed,
    },
    { baseModel: data.model },
  );
  // What the trainer takes and training.json records, in this order.
  const triplets = { margin, mining, distance, epochs, p, k };
  const started = performance.now();
  const result = await trainTriplet(
    tf,
    adapter,
    {
      labels: trainLabels,
      batch: (indices) => {
        const flat = new Float32Array(indices.length * data.dim);
        indices.forEach((i, r) => {
          flat.set(trainVectors[i], r * data.dim);
        });
        return tf.tensor2d(flat, [indices.length, data.dim]);
      },
    },
    {
      ...triplets,
      learningRate,
      seed,
      checkpointDir: options.out,
      resume: options.resume,
      onResume: hooks.onResume,
      onBatch: hooks.onBatch,
      onEpoch: hooks.onEpoch,
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const training = {
    data: path.resolve(options.data),
    ...triplets,
    hidden: options.hidden,
    residual: options.outputSize === undefined,
    learningRate,
    seed,
    people: new Set(trainLabels).size,
    images: trainLabels.length,
    heldOutPeople: new Set(split.heldOut.map((i) => data.labels[i])).size,
  };
  // The verification threshold of the adapted embeddings: cross-validated on the held-out people
  // (on the training people when none are held out, which flatters it).
  const calibration = split.heldOut.length > 0 ? split.heldOut : split.train;
  const vectors = calibration.map((i) => data.vectors[i]);
  const labels = calibration.map((i) => data.labels[i]);
  const adapted = adapter.adapt(vectors);
  // The same pairs (same seed) scored both ways.
  const plain = pairVerification(labels, new Rng(seed + 1), (pairs) =>
    pairs.map((p) => faceDistance(vectors[p.i], vectors[p.j])),
  );
  const after = pairVerification(labels, new Rng(seed + 1), (pairs) =>
    pairs.map((p) => faceDistance(adapted[p.i], adapted[p.j])),
  );
  const heldOut =
    split.heldOut.length > 0
      ? { plain: plain.cv.accuracy, adapted: after.cv.accuracy, pairs: plain.pairs.length }
      : undefined;
  const verificationThreshold = after.cv.threshold;
  const identification = calibrateIdentification(
    calibration.map((i) => ({ personId: data.labels[i], key: data.keys[i] })),
    adapted,
    FACE_MODEL.identification.marginWeight,
  );
  await adapter.save(options.out, {
    training,
    verificationThreshold,
    ...(identification ? { identificationThreshold: identification.threshold } : {}),
  });

  const last = result.history[result.history.length - 1];
  await writeTrainingReport(options.out, {
    training,
    trainedPeople: trainLabels,
    history: result.history,
    heldOut,
    verificationThreshold,
    identification,
    seconds,
  });
  adapter.dispose();

  return {
    out: options.out,
    epochs: result.history.length,
    loss: last?.loss,
    activeShare: last?.activeShare,
    ...dataCounts(data),
    heldOut,
    seconds,
    heldOutPeople: training.heldOutPeople,
  };
}
