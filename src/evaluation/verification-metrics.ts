import type { CrossValidation, RocPoint, ScoredPair } from './types.js';

/** Sub-folds used when crossValidate is given a single fold. */
export const SINGLE_FOLD_SPLITS = 10;

/**
 * Fraction of pairs decided correctly at threshold t (same iff score <= t). A null score is
 * always a wrong decision, whatever the label.
 */
export function accuracyAt(scores: readonly ScoredPair[], t: number): number {
  checkScores(scores, 'accuracyAt');
  let correct = 0;
  for (const { score, same } of scores) {
    if (score !== null && score <= t === same) correct++;
  }
  return correct / scores.length;
}

/**
 * The threshold maximising accuracyAt on these pairs. Candidates sit midway between adjacent
 * distinct scores (or half a mean gap beyond the extremes), so the result generalises instead of
 * sitting on a training score. Among equally accurate candidates the middle one is taken, so that
 * a plateau of best thresholds favours neither false accepts nor false rejects.
 * Nulls lower every candidate's accuracy equally; when every score is null no
 * threshold helps and 0 is returned. O(n log n).
 */
export function bestThreshold(scores: readonly ScoredPair[]): number {
  checkScores(scores, 'bestThreshold');
  const groups = scoreGroups(scores);
  if (groups.length === 0) return 0;

  // Start with everything rejected: exactly the impostor pairs are right.
  let correct = groups.reduce((sum, g) => sum + g.impostor, 0);
  let best = correct;
  let ties = [-1]; // -1: below every score; g: between groups g and g + 1 (or above the last)
  groups.forEach((g, i) => {
    correct += g.genuine - g.impostor;
    if (correct > best) {
      best = correct;
      ties = [i];
    } else if (correct === best) {
      ties.push(i);
    }
  });
  const bestAfter = ties[Math.floor((ties.length - 1) / 2)];

  const first = groups[0].score;
  const last = groups[groups.length - 1].score;
  const margin = groups.length > 1 ? (last - first) / (groups.length - 1) / 2 : Math.max(1, Math.abs(first)) / 2;
  if (bestAfter === -1) return below(first, margin);
  if (bestAfter === groups.length - 1) return above(last, margin);
  return midpoint(groups[bestAfter].score, groups[bestAfter + 1].score);
}

/**
 * k-fold cross-validation: fold k is scored at the threshold chosen on all the other folds.
 * A single fold is first split into 10 interleaved sub-folds (pair i goes to sub-fold i % 10),
 * which keeps matched and mismatched pairs mixed in every sub-fold. `std` is the sample standard
 * deviation (n - 1) of the fold accuracies; `standardError` = std / sqrt(folds).
 */
export function crossValidate(folds: readonly (readonly ScoredPair[])[]): CrossValidation {
  if (folds.length === 0) throw new RangeError('crossValidate: no folds');
  folds.forEach((fold, k) => {
    if (fold.length === 0) throw new RangeError(`crossValidate: fold ${k + 1} is empty`);
  });
  const used = folds.length === 1 ? interleavedFolds(folds[0], SINGLE_FOLD_SPLITS).filter((f) => f.length > 0) : folds;
  if (used.length < 2) throw new RangeError('crossValidate: need at least 2 pairs to cross-validate one fold');

  const thresholds = used.map((_, k) => bestThreshold(used.filter((_, j) => j !== k).flat()));
  const foldAccuracies = used.map((fold, k) => accuracyAt(fold, thresholds[k]));
  const accuracy = mean(foldAccuracies);
  const std = Math.sqrt(foldAccuracies.reduce((s, a) => s + (a - accuracy) ** 2, 0) / (used.length - 1));
  return {
    accuracy,
    std,
    standardError: std / Math.sqrt(used.length),
    thresholds,
    foldAccuracies,
    threshold: bestThreshold(used.flat()),
  };
}

/** Splits items into k folds, item i going to fold i % k. */
export function interleavedFolds<T>(items: readonly T[], k: number): T[][] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`interleavedFolds: k must be a positive integer, got ${k}`);
  const folds: T[][] = Array.from({ length: k }, () => []);
  items.forEach((item, i) => {
    folds[i % k].push(item);
  });
  return folds;
}

/**
 * The ROC over every threshold, by increasing threshold (so FAR and TAR never decrease): first
 * {far: 0, tar: 0, threshold: -Infinity} (accept nothing), then one point per distinct score with
 * threshold = that score. Null scores are never accepted: a genuine null is a false reject, an
 * impostor null a true reject, so the curve may end short of TAR 1 or FAR 1.
 */
export function rocCurve(scores: readonly ScoredPair[]): RocPoint[] {
  checkScores(scores, 'rocCurve');
  const genuine = scores.filter((p) => p.same).length;
  const impostor = scores.length - genuine;
  if (genuine === 0 || impostor === 0) {
    throw new RangeError(`rocCurve: need genuine and impostor pairs, got ${genuine} and ${impostor}`);
  }
  const points: RocPoint[] = [{ far: 0, tar: 0, threshold: -Infinity }];
  let acceptedGenuine = 0;
  let acceptedImpostor = 0;
  for (const g of scoreGroups(scores)) {
    acceptedGenuine += g.genuine;
    acceptedImpostor += g.impostor;
    points.push({ far: acceptedImpostor / impostor, tar: acceptedGenuine / genuine, threshold: g.score });
  }
  return points;
}

/** The highest TAR over thresholds whose FAR is at most `far` (0 when only accepting nothing qualifies). */
export function tarAtFar(scores: readonly ScoredPair[], far: number): number {
  if (!(far >= 0)) throw new RangeError(`tarAtFar: far must be >= 0, got ${far}`);
  let tar = 0;
  for (const p of rocCurve(scores)) {
    if (p.far <= far && p.tar > tar) tar = p.tar;
  }
  return tar;
}

/**
 * Equal error rate: where FAR and FRR (= 1 - TAR) cross, interpolated linearly between the two
 * ROC points that bracket the crossing. If they never cross (only possible when null scores leave
 * FRR above FAR even at the most lenient threshold) this returns that final FRR, the smallest
 * achievable max(FAR, FRR).
 */
export function equalErrorRate(scores: readonly ScoredPair[]): number {
  const points = rocCurve(scores);
  for (let i = 1; i < points.length; i++) {
    const p = points[i - 1];
    const q = points[i];
    const dq = q.far - (1 - q.tar);
    if (dq < 0) continue;
    const dp = p.far - (1 - p.tar); // < 0: the previous point had not crossed yet
    const alpha = -dp / (dq - dp);
    return p.far + alpha * (q.far - p.far);
  }
  return 1 - points[points.length - 1].tar;
}

interface ScoreGroup {
  score: number;
  genuine: number;
  impostor: number;
}

/** Non-null scores, grouped by distinct value, ascending. */
function scoreGroups(scores: readonly ScoredPair[]): ScoreGroup[] {
  const sorted = scores.filter((p): p is { score: number; same: boolean } => p.score !== null);
  sorted.sort((x, y) => x.score - y.score);
  const groups: ScoreGroup[] = [];
  for (const { score, same } of sorted) {
    let g = groups[groups.length - 1];
    if (g === undefined || g.score !== score) {
      g = { score, genuine: 0, impostor: 0 };
      groups.push(g);
    }
    if (same) g.genuine++;
    else g.impostor++;
  }
  return groups;
}

function checkScores(scores: readonly ScoredPair[], fn: string): void {
  if (scores.length === 0) throw new RangeError(`${fn}: no pairs`);
  scores.forEach(({ score }, i) => {
    if (score !== null && !Number.isFinite(score)) {
      throw new RangeError(`${fn}: pair ${i} has score ${score}; scores must be finite numbers or null`);
    }
  });
}

/** A threshold strictly between a < b (a itself if they are adjacent doubles: a <= a, b > a). */
function midpoint(a: number, b: number): number {
  const m = a + (b - a) / 2;
  return m > a && m < b ? m : a;
}

function below(v: number, margin: number): number {
  const t = v - margin;
  return t < v ? t : v - Math.max(1, Math.abs(v));
}

function above(v: number, margin: number): number {
  const t = v + margin;
  return t > v ? t : v + Math.max(1, Math.abs(v));
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}
