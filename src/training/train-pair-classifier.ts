import path from 'node:path';
import { faceDistance } from '../engine/face-distance.js';
import { pairVerification } from './held-out.js';
import { PairClassifier, type PairTrainingOptions } from './pair-classifier.js';
import { Rng } from './rng.js';
import {
  dataCounts,
  prepareTraining,
  writeTrainingReport,
  type EmbedLabelledFolder,
  type TrainingDataOptions,
} from './training-data.js';

export interface PairClassifierRunOptions extends TrainingDataOptions {
  /** Passes over the balanced pairs. */
  epochs: number;
  learningRate: number;
  /** L2 penalty on the weights. */
  l2: number;
  /** Pairs per step. */
  batchSize: number;
}

export interface PairClassifierHooks {
  embed: EmbedLabelledFolder;
  onEpoch?: PairTrainingOptions['onEpoch'];
}

/** What a run gives: the summary `facepipe train pair-classifier --json` prints, in its order. */
export interface PairClassifierReport {
  out: string;
  images: number;
  people: number;
  skipped: number;
  cached: number;
  /**
   * Cross-validated verification accuracy on the held-out people: plain distance, the classifier's
   * 1 - P(same) as a score, and the classifier's own decision P(same) > 0.5, on the same pairs.
   */
  heldOut?: { plain: number; classifier: number; classifierAtHalf: number; pairs: number };
  seconds: number;
}

/**
 * Trains a logistic pair classifier on the labelled folder's embeddings, measures it on the
 * held-out people, and saves it with training.json in `out`.
 */
export async function trainPairClassifier(
  options: PairClassifierRunOptions,
  hooks: PairClassifierHooks,
): Promise<PairClassifierReport> {
  const { data, tf, rng, split } = await prepareTraining(options, hooks.embed);
  const started = performance.now();
  const classifier = await PairClassifier.train(
    tf,
    split.train.map((i) => data.vectors[i]),
    split.train.map((i) => data.labels[i]),
    {
      epochs: options.epochs,
      learningRate: options.learningRate,
      batchSize: options.batchSize,
      l2: options.l2,
      rng,
      onEpoch: hooks.onEpoch,
    },
    { baseModel: data.model },
  );
  const seconds = (performance.now() - started) / 1000;
  const training = {
    data: path.resolve(options.data),
    epochs: options.epochs,
    learningRate: options.learningRate,
    l2: options.l2,
    seed: options.seed,
    images: split.train.length,
  };
  await classifier.save(options.out, { training });

  let heldOut: PairClassifierReport['heldOut'];
  if (split.heldOut.length > 0) {
    const vectors = split.heldOut.map((i) => data.vectors[i]);
    const labels = split.heldOut.map((i) => data.labels[i]);
    const plain = pairVerification(labels, new Rng(options.seed + 1), (pairs) =>
      pairs.map((p) => faceDistance(vectors[p.i], vectors[p.j])),
    );
    const learnt = pairVerification(labels, new Rng(options.seed + 1), (pairs) =>
      classifier.probabilities(pairs.map((p) => [vectors[p.i], vectors[p.j]] as const)).map((x) => 1 - x),
    );
    // The classifier's own decision, P(same) > 0.5, on the same pairs.
    const atHalf = learnt.pairs.filter((p, k) => learnt.scores[k] < 0.5 === p.same).length / learnt.pairs.length;
    heldOut = {
      plain: plain.cv.accuracy,
      classifier: learnt.cv.accuracy,
      classifierAtHalf: atHalf,
      pairs: plain.pairs.length,
    };
  }
  await writeTrainingReport(options.out, {
    training,
    trainedPeople: split.train.map((i) => data.labels[i]),
    heldOut,
    seconds,
  });
  classifier.dispose();
  return {
    out: options.out,
    ...dataCounts(data),
    heldOut,
    seconds,
  };
}
