import {
  identificationScore,
  type IdentificationRule,
  type PersonMatch,
} from '../identification/identification-rule.js';

/** One probe of an open-set test: its true person, and whether that person is in the gallery. */
export interface OpenSetProbe {
  personId: string;
  enrolled: boolean;
  /** Per-person matches against the gallery, ascending (empty when the probe had no face). */
  matches: PersonMatch[];
}

export interface OperatingPoint {
  /** Target false-positive identification rate (strangers named as someone). */
  fpir: number;
  /** Score threshold reaching it on these probes. */
  threshold: number;
  /** Enrolled probes not named as themselves at that threshold (wrong person, or nobody). */
  fnir: number;
}

export interface OpenSetMetrics {
  genuineProbes: number;
  impostorProbes: number;
  /** Enrolled probes whose closest person is their own. */
  rank1: number;
  operatingPoints: OperatingPoint[];
  /** At a given rule: share of enrolled probes named correctly, and of strangers named as anyone. */
  atRule: { threshold: number; marginWeight: number; tpir: number; fpir: number };
}

/**
 * Open-set identification figures for a scoring rule (its marginWeight; the threshold is swept):
 * rank-1, and FNIR at each target FPIR with the threshold that reaches it, plus TPIR/FPIR at the
 * rule's own threshold. A probe without a face is a miss (genuine) and not a false alarm (stranger).
 */
export function openSetMetrics(
  probes: readonly OpenSetProbe[],
  rule: IdentificationRule,
  fpirTargets: readonly number[],
): OpenSetMetrics {
  const genuine = probes.filter((p) => p.enrolled);
  const impostor = probes.filter((p) => !p.enrolled);
  const score = (p: OpenSetProbe) => identificationScore(p.matches, rule) ?? Infinity;
  const correct = genuine.map((p) => p.matches[0]?.personId === p.personId);
  const genuineScores = genuine.map(score);
  const impostorScores = impostor.map(score).sort((a, b) => a - b);

  const fnirAt = (t: number) =>
    genuine.reduce((miss, _, i) => miss + (correct[i] && genuineScores[i] <= t ? 0 : 1), 0) /
    Math.max(1, genuine.length);
  const fpirAt = (t: number) => impostorScores.filter((s) => s <= t).length / Math.max(1, impostor.length);

  const operatingPoints = fpirTargets.map((fpir) => {
    // The largest threshold that lets at most floor(fpir x N) strangers through.
    const allowed = Math.floor(fpir * impostorScores.length);
    const next = impostorScores[allowed];
    const threshold = next === undefined ? Infinity : Number.isFinite(next) ? next - 1e-9 : Infinity;
    return { fpir, threshold, fnir: fnirAt(threshold) };
  });
  return {
    genuineProbes: genuine.length,
    impostorProbes: impostor.length,
    rank1: correct.filter(Boolean).length / Math.max(1, genuine.length),
    operatingPoints,
    atRule: {
      threshold: rule.threshold,
      marginWeight: rule.marginWeight,
      tpir: 1 - fnirAt(rule.threshold),
      fpir: fpirAt(rule.threshold),
    },
  };
}
