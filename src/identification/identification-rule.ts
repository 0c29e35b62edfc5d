/**
 * The 1:N decision for one probe face: who is it, or nobody (DESIGN.md, "The ideas it rests on").
 *
 * A single distance threshold names strangers as someone in a large gallery: some gallery face is
 * always close. The rule therefore also looks at how far the closest PERSON stands out from the
 * runners-up: a probe about as close to several people is ambiguous, one that stands out is not.
 *
 *   score = d1 - marginWeight x (mean(d2 .. d[1 + RUNNERS_UP]) - d1)      named when score <= threshold
 *
 * (d1: distance to the closest person; d2...: to the next persons, one entry each). The mean over
 * a few runners-up is steadier than d2 alone (measured on two CCTV-like nights: TPIR 0.535 against
 * 0.517 at the same false-identification rate). With marginWeight 0 it is the plain threshold.
 * The shipped values (FACE_MODEL_CARD.identification) are calibrated for a target false-identification
 * rate, see src/engine/face-model.ts.
 */

import type { IdentificationRule } from '../engine/model-card.js';
import { failedGates, type GatedFace, type QualityGate, type QualityGates } from './quality-gates.js';

// The rule's parameters belong to a model card (its thresholds are calibrated per model).
export type { IdentificationRule } from '../engine/model-card.js';

export interface PersonMatch {
  personId: string;
  faceId: string;
  distance: number;
}

/** Runners-up averaged into the margin. */
export const RUNNERS_UP = 4;
/** The margin of a probe in a gallery of one person (no runner-up to compare with). */
export const MAX_MARGIN = 0.3;

/** The closest face of each person, at most `k` persons, ascending by distance. */
export function bestPerPerson<T extends PersonMatch>(hits: readonly T[], k: number): PersonMatch[] {
  const best = new Map<string, PersonMatch>();
  for (const { personId, faceId, distance } of hits) {
    const seen = best.get(personId);
    if (!seen || distance < seen.distance) best.set(personId, { personId, faceId, distance });
  }
  return [...best.values()].sort((a, b) => a.distance - b.distance).slice(0, k);
}

/** The rule's score of a probe (lower is more certain); undefined for an empty gallery. */
export function identificationScore(matches: readonly PersonMatch[], rule: IdentificationRule): number | undefined {
  const [first, ...runnersUp] = bestPerPerson(matches, 1 + RUNNERS_UP);
  if (first === undefined) return undefined;
  const margin =
    runnersUp.length === 0
      ? MAX_MARGIN
      : runnersUp.reduce((sum, m) => sum + m.distance, 0) / runnersUp.length - first.distance;
  return first.distance - rule.marginWeight * margin;
}

/**
 * The rule as a deployment applies it: the score threshold and margin weight (settings), and the
 * model's 1:1 verification threshold as a hard ceiling on the distance to the closest person. The
 * margin only ever makes the score smaller than d1, and with one or few people enrolled it names
 * strangers well beyond the distance at which two faces are judged the same person at all.
 */
export interface DecisionRule extends IdentificationRule {
  /** A face farther than this from its closest person is never named (the model's 1:1 threshold). */
  maxDistance: number;
  /** Quality gates (quality-gates.ts): checked when the caller gives the detection; none, none checked. */
  gates?: QualityGates;
  /**
   * Per-person offsets added to every distance to that person before the rule looks at them
   * (cohort-normalisation.ts): a hub, close to junk, needs to be closer to be named. Absent: 0.
   */
  entryOffsets?: ReadonlyMap<string, number>;
}

/** The persons the rule compares: the closest one and its runners-up. */
export const RULE_PERSONS = 1 + RUNNERS_UP;

/**
 * How many persons to fetch per face for a caller who shows `k`: the rule needs its runners-up
 * whatever k is; with per-person offsets, a runner-up's worth more, since an offset can push the
 * closest persons down the list.
 */
export function personsToFetch(k: number, withOffsets = false): number {
  return Math.max(k, RULE_PERSONS) + (withOffsets ? RUNNERS_UP : 0);
}

/** Why a face was named or not: the rule's score and the values it was compared with. */
export interface Decision {
  /** The rule's score (lower is more certain); null when the gallery is empty. */
  score: number | null;
  threshold: number;
  marginWeight: number;
  maxDistance: number;
  /**
   * named; unknown (the rule did not name anyone); low-quality (a quality gate failed: not
   * searched against the rule at all). Absent when no gates were checked.
   */
  outcome?: DecisionOutcome;
  /** The gates the detection failed (outcome low-quality). */
  failedGates?: QualityGate[];
}

export const DECISION_OUTCOMES = ['named', 'unknown', 'low-quality'] as const;
export type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];

/** One probe face decided: the person named (or null), the top-k persons shown, and the decision. */
export interface FaceIdentification {
  personId: string | null;
  /** Top-k persons, ascending by distance. */
  matches: PersonMatch[];
  decision: Decision;
}

/** Whether the rule names the closest person of a probe with this score and closest distance. */
export function isNamed(score: number | null | undefined, closest: number | undefined, rule: DecisionRule): boolean {
  return (
    score !== null &&
    score !== undefined &&
    closest !== undefined &&
    score <= rule.threshold &&
    closest <= rule.maxDistance
  );
}

/**
 * The one place a 1:N decision is made (index service, identify workers, benchmarks): `hits` are a
 * probe's gallery matches (faces or persons, at least personsToFetch(k) persons where the gallery
 * has them); the decision looks at the rule's own runners-up, never at the list cut to `k`, so the
 * same probe gets the same answer whatever k the caller asks for.
 */
export function identifyFace(
  hits: readonly PersonMatch[],
  k: number,
  rule: DecisionRule,
  face?: GatedFace,
): FaceIdentification {
  const persons = bestPerPerson(hits, personsToFetch(k));
  // The rule sees offset distances (a hub stands farther); the matches shown keep the real ones.
  const ranked = rule.entryOffsets?.size
    ? bestPerPerson(withOffsets(hits, rule.entryOffsets), personsToFetch(k))
    : persons;
  const score = identificationScore(ranked, rule) ?? null;
  const named = isNamed(score, ranked[0]?.distance, rule);
  const decision: Decision = {
    score,
    threshold: rule.threshold,
    marginWeight: rule.marginWeight,
    maxDistance: rule.maxDistance,
  };
  const failed = face !== undefined && rule.gates !== undefined ? failedGates(face, rule.gates) : undefined;
  if (failed !== undefined && failed.length > 0) {
    return {
      personId: null,
      matches: persons.slice(0, k),
      decision: { ...decision, outcome: 'low-quality', failedGates: failed },
    };
  }
  return {
    personId: named ? ranked[0].personId : null,
    matches: persons.slice(0, k),
    decision: failed === undefined ? decision : { ...decision, outcome: named ? 'named' : 'unknown' },
  };
}

/** The hits with each person's offset added to their distance (none: the hits themselves). */
function withOffsets(
  hits: readonly PersonMatch[],
  offsets: ReadonlyMap<string, number> | undefined,
): readonly PersonMatch[] {
  if (offsets === undefined || offsets.size === 0) return hits;
  return hits.map((h) => {
    const offset = offsets.get(h.personId);
    return offset === undefined ? h : { ...h, distance: h.distance + offset };
  });
}
