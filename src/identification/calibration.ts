/**
 * Calibrating the 1:N threshold for one gallery: run photos of people known NOT to be enrolled
 * (strangers) against it, and pick the most permissive threshold that names at most the target share
 * of them (FPIR). FPIR grows with the gallery (more people, more chances that one is close), which is
 * why the threshold shipped with a model only fits the gallery it was measured on.
 */
import { isNamed, type DecisionRule } from './identification-rule.js';

/** One probe face as the service decided it: its rule score and its distance to the closest person. */
export interface ScoredProbe {
  /** The rule's score (null: empty gallery). */
  score: number | null;
  /** Distance to the closest person (undefined: empty gallery). */
  distance?: number;
}

/** A labelled photo of an enrolled person: scored, and whether its closest person is the right one. */
export interface MatedProbe extends ScoredProbe {
  /** The closest person is the photo's own (rank 1 correct). */
  rank1: boolean;
}

export interface Calibration {
  /** The threshold: a face is named when its score is at most this (and its distance within maxDistance). */
  threshold: number;
  targetFpir: number;
  /** Strangers named at that threshold, and their share. */
  strangersNamed: number;
  fpir: number;
  strangers: number;
  /** Mated probes named as themselves at that threshold; null without mated probes. */
  tpir: number | null;
  mated: number;
  /** Fewer strangers than 1 / target: the threshold is set below every stranger (FPIR 0 on them), not at the target. */
  tooFewStrangers: boolean;
  /**
   * Whether FPIR is at or under the target. Thresholds stay >= 0 (result files and settings hold a
   * non-negative one), so strangers scoring below 0 (a face very close to one person and far from
   * all others: in practice a look-alike or a duplicate of an enrolled person) can hold it above.
   */
  targetMet: boolean;
}

/** The score by which a probe competes for a name: +Infinity when the distance cap alone refuses it. */
function nameableScore(p: ScoredProbe, maxDistance: number): number {
  if (p.score === null || p.distance === undefined || p.distance > maxDistance) return Number.POSITIVE_INFINITY;
  return p.score;
}

/**
 * A threshold (at most `rule.maxDistance`, beyond which only the distance cap decides, and at least
 * 0) that names at most floor(targetFpir x strangers) of the strangers, in the middle of the gap
 * between the last stranger named and the first refused; with it, the TPIR of the mated probes. `rule` gives the margin weight the scores were computed with and the cap.
 */
export function calibrateThreshold(
  strangers: readonly ScoredProbe[],
  targetFpir: number,
  rule: Pick<DecisionRule, 'marginWeight' | 'maxDistance'>,
  mated: readonly MatedProbe[] = [],
): Calibration {
  if (!(targetFpir > 0 && targetFpir < 1))
    throw new RangeError(`target FPIR must be between 0 and 1, got ${targetFpir}`);
  if (strangers.length === 0) throw new RangeError('calibration needs at least one stranger face');
  const scores = strangers.map((p) => nameableScore(p, rule.maxDistance)).sort((a, b) => a - b);
  const allowed = Math.floor(targetFpir * scores.length + 1e-9);
  // Named when score <= threshold. Between the last stranger it may name and the first it must
  // refuse, take the middle of the gap: a threshold right under the refused one names any stranger
  // of the next night that lands a hair lower (calibrated on one bench night and checked on another,
  // that cost one stranger over 1% in one direction; the middle held both: docs/experiments/
  // 2026-12-06-calibration-midpoint.md). With no stranger to name (or a tie), just under it.
  const firstRefused = scores[allowed];
  const lastNamed = allowed > 0 ? scores[allowed - 1] : undefined;
  let threshold: number;
  if (firstRefused === undefined || !Number.isFinite(firstRefused)) threshold = rule.maxDistance;
  else if (lastNamed !== undefined && lastNamed < firstRefused) threshold = (lastNamed + firstRefused) / 2;
  else threshold = firstRefused - 1e-6;
  threshold = Math.max(0, Math.min(rule.maxDistance, threshold));
  const rates = identificationRates(strangers, mated, {
    threshold,
    marginWeight: rule.marginWeight,
    maxDistance: rule.maxDistance,
  });
  return {
    threshold,
    targetFpir,
    ...rates,
    tooFewStrangers: allowed === 0,
    targetMet: rates.strangersNamed <= allowed,
  };
}

/** FPIR and TPIR of scored probes under a rule (e.g. a threshold calibrated on another night). */
export function identificationRates(
  strangers: readonly ScoredProbe[],
  mated: readonly MatedProbe[],
  rule: DecisionRule,
): Pick<Calibration, 'strangersNamed' | 'fpir' | 'strangers' | 'tpir' | 'mated'> {
  const strangersNamed = strangers.filter((p) => isNamed(p.score, p.distance, rule)).length;
  const matedNamed = mated.filter((p) => p.rank1 && isNamed(p.score, p.distance, rule)).length;
  return {
    strangersNamed,
    fpir: strangers.length === 0 ? 0 : strangersNamed / strangers.length,
    strangers: strangers.length,
    tpir: mated.length === 0 ? null : matedNamed / mated.length,
    mated: mated.length,
  };
}
