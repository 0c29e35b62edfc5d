import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { splitOpenSet } from '../evaluation/open-set-protocol.js';
import { scoreOpenSet } from '../evaluation/open-set-runner.js';
import type { CrossValidation, ScoredPair } from '../evaluation/types.js';
import { crossValidate } from '../evaluation/verification-metrics.js';
import { balancedPairs, type LabelledPair } from './pair-classifier.js';
import type { Rng } from './rng.js';

/**
 * Splits items by person: about `fraction` of the people (at least 2 when fraction > 0, and only
 * people with 2+ items, who make same-person pairs) are held out for measuring, the rest train.
 */
export function splitByPerson(
  labels: readonly string[],
  fraction: number,
  rng: Rng,
): { train: number[]; heldOut: number[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`held-out fraction must be in [0, 1), got ${fraction}`);
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const candidates = rng.shuffle([...counts.keys()].filter((l) => counts.get(l)! >= 2).sort());
  const n = fraction === 0 ? 0 : Math.max(2, Math.round(fraction * counts.size));
  const held = new Set(candidates.slice(0, Math.min(n, candidates.length)));
  const train: number[] = [];
  const heldOut: number[] = [];
  labels.forEach((l, i) => {
    (held.has(l) ? heldOut : train).push(i);
  });
  return { train, heldOut };
}

/** Splits items by person: the named people are held out, everyone else trains. */
export function splitByNamedPeople(
  labels: readonly string[],
  heldOut: ReadonlySet<string>,
): { train: number[]; heldOut: number[] } {
  const train: number[] = [];
  const held: number[] = [];
  labels.forEach((l, i) => {
    (heldOut.has(l) ? held : train).push(i);
  });
  return { train, heldOut: held };
}

/** The people a training run saw, as `training.json` lists them (`trainedPeople`), to evaluate on the others only. */
export async function readTrainedPeople(dir: string): Promise<Set<string>> {
  const file = path.join(dir, 'training.json');
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new Error(`cannot read ${file} (which people it was trained on): ${err.message}`);
  });
  const people = (JSON.parse(text) as { trainedPeople?: unknown }).trainedPeople;
  if (!Array.isArray(people) || !people.every((p) => typeof p === 'string'))
    throw new Error(`${file}: no trainedPeople list (trained by an older facepipe: retrain)`);
  return new Set(people);
}

/**
 * Cross-validated verification accuracy (10 interleaved folds, each one's threshold chosen on the
 * others) on balanced same/different pairs of these items; `score` gives each pair a dissimilarity.
 * Also returns the pairs and their scores, for other measures on the same pairs.
 */
export function pairVerification(
  labels: readonly string[],
  rng: Rng,
  score: (pairs: readonly LabelledPair[]) => number[],
  maxPerClass = 5_000,
): { cv: CrossValidation; pairs: LabelledPair[]; scores: number[] } {
  const pairs = balancedPairs(labels, rng, maxPerClass);
  const scores = score(pairs);
  const scored: ScoredPair[] = pairs.map((p, k) => ({ score: scores[k], same: p.same }));
  return { cv: crossValidate([scored]), pairs, scores };
}

/** Fewer strangers than this cannot place a 1% false-identification threshold. */
const MIN_CALIBRATION_STRANGERS = 100;

/**
 * The 1:N threshold of the adapted embeddings: the open-set protocol (half the people enrolled from
 * one image, the other half strangers) on the calibration people, with this margin weight,
 * at FPIR 1%. Undefined when too few strangers: the model then scales the shipped threshold.
 */
export function calibrateIdentification(
  images: readonly { personId: string; key: string }[],
  vectors: readonly Float32Array[],
  marginWeight: number,
) {
  const split = splitOpenSet(images);
  const embeddings = new Map(images.map((image, r) => [image.key, vectors[r]] as const));
  const { rule } = scoreOpenSet(split, embeddings, { threshold: 0, marginWeight });
  const [point] = rule.operatingPoints; // FPIR_TARGETS[0], 1%
  if (rule.impostorProbes < MIN_CALIBRATION_STRANGERS || !Number.isFinite(point.threshold)) return undefined;
  return {
    threshold: point.threshold,
    fpir: point.fpir,
    tpir: 1 - point.fnir,
    strangers: rule.impostorProbes,
    enrolledProbes: rule.genuineProbes,
    gallery: split.gallery.length,
  };
}
