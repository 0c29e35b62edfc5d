import { describe, expect, it } from 'vitest';
import type { ScoredPair } from '../src/evaluation/types.js';
import {
  accuracyAt,
  bestThreshold,
  crossValidate,
  equalErrorRate,
  interleavedFolds,
  rocCurve,
  tarAtFar,
} from '../src/evaluation/verification-metrics.js';

const gen = (...scores: (number | null)[]): ScoredPair[] => scores.map((score) => ({ score, same: true }));
const imp = (...scores: (number | null)[]): ScoredPair[] => scores.map((score) => ({ score, same: false }));

describe('bestThreshold and accuracyAt', () => {
  const separable = [...gen(0.1, 0.3, 0.2), ...imp(0.9, 0.6)];

  it('separates a separable set at the midpoint of the gap, with accuracy 1', () => {
    const t = bestThreshold(separable);
    expect(t).toBeCloseTo(0.45, 12);
    expect(accuracyAt(separable, t)).toBe(1);
    expect(accuracyAt(separable, 0.25)).toBeCloseTo(4 / 5, 12); // genuine 0.3 rejected
    expect(accuracyAt(separable, 0.3)).toBe(1); // decision is score <= t
  });

  it('counts a null score as a wrong decision for genuine and impostor pairs alike', () => {
    const withNulls = [...separable, ...gen(null), ...imp(null)];
    const t = bestThreshold(withNulls);
    expect(t).toBeCloseTo(0.45, 12);
    expect(accuracyAt(withNulls, t)).toBeCloseTo(5 / 7, 12);
    expect(accuracyAt(withNulls, Number.MAX_VALUE)).toBeCloseTo(3 / 7, 12);
    expect(accuracyAt(withNulls, -Number.MAX_VALUE)).toBeCloseTo(2 / 7, 12);
  });

  it('maximises accuracy on an overlapping set, ties going to the middle candidate', () => {
    // Candidates: accuracy 4/8 below all; after 0.1 5, 0.2 6, 0.3 5, 0.4 6, 0.5 5, 0.6 6, 0.7 5, 0.8 4.
    const overlapping = [...gen(0.1, 0.2, 0.4, 0.6), ...imp(0.3, 0.5, 0.7, 0.8)];
    // Best (6/8) after 0.2, 0.4 and 0.6: the middle one, between 0.4 and 0.5.
    expect(bestThreshold(overlapping)).toBeCloseTo(0.45, 12);
    // Three genuine pairs tied at 0.5 outweigh the impostor there.
    const tied = [...gen(0.1, 0.5, 0.5, 0.5), ...imp(0.3, 0.5, 0.9)];
    expect(bestThreshold(tied)).toBeCloseTo(0.7, 12);
    expect(accuracyAt(tied, 0.7)).toBeCloseTo(5 / 7, 12);
  });

  it('puts the threshold beyond the extremes when all-accept or all-reject is best', () => {
    const allGenuine = gen(0.2, 0.4, 0.6);
    const t = bestThreshold(allGenuine);
    expect(t).toBeCloseTo(0.7, 12); // half the mean gap (0.2) above the largest score
    const allImpostor = imp(0.2, 0.4, 0.6);
    expect(bestThreshold(allImpostor)).toBeCloseTo(0.1, 12);
    expect(accuracyAt(allImpostor, bestThreshold(allImpostor))).toBe(1);
    expect(bestThreshold(imp(5))).toBeLessThan(5);
  });

  it('returns 0 when every score is null, and rejects empty or non-finite input', () => {
    expect(bestThreshold([...gen(null), ...imp(null)])).toBe(0);
    expect(() => bestThreshold([])).toThrow(RangeError);
    expect(() => accuracyAt([], 0.5)).toThrow(RangeError);
    expect(() => bestThreshold(gen(Number.NaN))).toThrow(/finite/);
  });

  it('handles a large shuffled set in n log n without changing the answer', () => {
    const pairs: ScoredPair[] = [];
    for (let i = 0; i < 50_000; i++)
      pairs.push({ score: ((i * 7919) % 50_000) / 50_000, same: (i * 7919) % 50_000 < 20_000 });
    const t = bestThreshold(pairs);
    expect(t).toBeGreaterThan(19_999 / 50_000);
    expect(t).toBeLessThan(20_000 / 50_000);
    expect(accuracyAt(pairs, t)).toBe(1);
  });
});

describe('crossValidate', () => {
  // Fold 0 alone would pick 0.25 and score 1.0; the other folds all say 0.65, which gets fold 0 half wrong.
  const low = (): ScoredPair[] => [...gen(0.1, 0.2), ...imp(0.3, 0.4)];
  const high = (): ScoredPair[] => [...gen(0.5, 0.6), ...imp(0.7, 0.8)];

  it('scores each fold at the threshold chosen on the other folds only', () => {
    const folds = [low(), high(), high(), high()];
    expect(bestThreshold(folds[0])).toBeCloseTo(0.25, 12); // what fold-local tuning would use
    const cv = crossValidate(folds);
    expect(cv.thresholds).toHaveLength(4);
    cv.thresholds.forEach((t) => {
      expect(t).toBeCloseTo(0.65, 12);
    });
    expect(cv.foldAccuracies).toEqual([0.5, 1, 1, 1]);
    expect(cv.accuracy).toBeCloseTo(0.875, 12);
    // Sample std (n - 1): deviations -0.375, 0.125 x 3 -> sqrt(0.1875 / 3) = 0.25 (population would be 0.2165).
    expect(cv.std).toBeCloseTo(0.25, 12);
    expect(cv.standardError).toBeCloseTo(0.125, 12);
    expect(cv.threshold).toBeCloseTo(0.65, 12);
  });

  it('gives each fold its own threshold when the other folds disagree', () => {
    // Leaving out a high fold leaves one low and one high fold: a tie, broken towards 0.25.
    const cv = crossValidate([low(), high(), high()]);
    expect(cv.thresholds[0]).toBeCloseTo(0.65, 12);
    expect(cv.thresholds[1]).toBeCloseTo(0.25, 12);
    expect(cv.thresholds[2]).toBeCloseTo(0.25, 12);
    expect(cv.foldAccuracies).toEqual([0.5, 0.5, 0.5]);
    expect(cv.std).toBe(0);
  });

  it('splits a single fold into 10 interleaved sub-folds', () => {
    // Pairs 0-9 genuine, 10-19 impostor (LFW order). Genuine pair 3 is an outlier above every impostor.
    const pairs: ScoredPair[] = [];
    for (let i = 0; i < 10; i++) pairs.push({ score: i === 3 ? 0.9 : 0.1 + 0.01 * i, same: true });
    for (let i = 0; i < 10; i++) pairs.push({ score: 0.5 + 0.01 * i, same: false });
    const cv = crossValidate([pairs]);
    expect(cv.foldAccuracies).toHaveLength(10);
    expect(cv.thresholds).toHaveLength(10);
    // Only sub-fold 3 (pairs 3 and 13) holds the outlier; contiguous chunks would put it in sub-fold 1.
    expect(cv.foldAccuracies).toEqual([1, 1, 1, 0.5, 1, 1, 1, 1, 1, 1]);
    expect(cv.accuracy).toBeCloseTo(0.95, 12);
    expect(cv.thresholds[3]).toBeCloseTo((0.19 + 0.5) / 2, 12);
    expect(cv.threshold).toBeCloseTo((0.19 + 0.5) / 2, 12);
  });

  it('interleavedFolds puts item i in fold i % k', () => {
    expect(interleavedFolds([0, 1, 2, 3, 4, 5, 6], 3)).toEqual([
      [0, 3, 6],
      [1, 4],
      [2, 5],
    ]);
  });

  it('rejects no folds, an empty fold, or a single pair', () => {
    expect(() => crossValidate([])).toThrow(RangeError);
    expect(() => crossValidate([low(), []])).toThrow(/fold 2 is empty/);
    expect(() => crossValidate([gen(0.1)])).toThrow(RangeError);
  });
});

describe('ROC, TAR@FAR and EER', () => {
  // Sorted: 0.1G 0.2G 0.3I 0.4G 0.4I 0.6G 0.7I 0.8I
  const scores = [...gen(0.1, 0.2, 0.4, 0.6), ...imp(0.3, 0.4, 0.7, 0.8)];

  it('lists one point per distinct score, starting from accept-nothing', () => {
    expect(rocCurve(scores)).toEqual([
      { far: 0, tar: 0, threshold: -Infinity },
      { far: 0, tar: 0.25, threshold: 0.1 },
      { far: 0, tar: 0.5, threshold: 0.2 },
      { far: 0.25, tar: 0.5, threshold: 0.3 },
      { far: 0.5, tar: 0.75, threshold: 0.4 },
      { far: 0.5, tar: 1, threshold: 0.6 },
      { far: 0.75, tar: 1, threshold: 0.7 },
      { far: 1, tar: 1, threshold: 0.8 },
    ]);
  });

  it('tarAtFar is the best TAR whose FAR does not exceed the target', () => {
    expect(tarAtFar(scores, 0)).toBe(0.5);
    expect(tarAtFar(scores, 0.1)).toBe(0.5);
    expect(tarAtFar(scores, 0.25)).toBe(0.5);
    expect(tarAtFar(scores, 0.49)).toBe(0.5);
    expect(tarAtFar(scores, 0.5)).toBe(1);
    expect(tarAtFar(scores, 1)).toBe(1);
    expect(tarAtFar([...gen(0.5), ...imp(0.1)], 0.5)).toBe(0); // only accept-nothing qualifies
  });

  it('EER interpolates where FAR and FRR cross', () => {
    // At t=0.3: FAR 0.25, FRR 0.5. At t=0.4: FAR 0.5, FRR 0.25. Crossing halfway: 0.375.
    expect(equalErrorRate(scores)).toBeCloseTo(0.375, 12);
    // An exact crossing at a point: t=0.4 gives FAR = FRR = 0.25.
    expect(equalErrorRate([...gen(0.1, 0.2, 0.3, 0.6), ...imp(0.4, 0.5, 0.7, 0.8)])).toBeCloseTo(0.25, 12);
    expect(equalErrorRate([...gen(0.1, 0.2), ...imp(0.8, 0.9)])).toBe(0);
    // Fully inverted: EER 1 (crossing at the last point).
    expect(equalErrorRate([...gen(0.8, 0.9), ...imp(0.1, 0.2)])).toBeCloseTo(1, 12);
  });

  it('counts null genuine pairs as false rejects and null impostor pairs as true rejects', () => {
    const withNulls = [...gen(0.1, 0.2, 0.3, null), ...imp(0.5, 0.6, null, null)];
    const roc = rocCurve(withNulls);
    expect(roc[roc.length - 1]).toEqual({ far: 0.5, tar: 0.75, threshold: 0.6 });
    expect(tarAtFar(withNulls, 0)).toBe(0.75);
    expect(tarAtFar(withNulls, 1)).toBe(0.75);
    // FRR never drops below 0.25; FAR reaches 0.25 at 0.5 while FRR is 0.25: EER 0.25.
    expect(equalErrorRate(withNulls)).toBeCloseTo(0.25, 12);
    // Mostly undetected genuine pairs: FRR >= 0.75 > FAR everywhere, so EER is that floor.
    expect(equalErrorRate([...gen(0.1, null, null, null), ...imp(0.9, 0.95)])).toBeCloseTo(0.75, 12);
  });

  it('needs both genuine and impostor pairs', () => {
    expect(() => rocCurve(gen(0.1, 0.2))).toThrow(/genuine and impostor/);
    expect(() => tarAtFar(scores, -0.1)).toThrow(RangeError);
  });
});
