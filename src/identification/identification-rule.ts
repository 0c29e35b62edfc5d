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

/** The person named for a probe with these per-person matches, or null for nobody. */
export function decideIdentity(matches: readonly PersonMatch[], rule: IdentificationRule): string | null {
  const score = identificationScore(matches, rule);
  return score !== undefined && score <= rule.threshold ? bestPerPerson(matches, 1)[0].personId : null;
}
