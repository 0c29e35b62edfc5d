/**
 * The 1:N decision for one probe face: who is it, or nobody (DESIGN.md, "The ideas it rests on").
 *
 * A single distance threshold names strangers as someone in a large gallery: some gallery face is
 * always close. The rule therefore also looks at the margin to the second-closest PERSON: a probe
 * that is about as close to two people is ambiguous, one that stands out from the rest is not.
 *
 *   score = d1 - marginWeight x min(d2 - d1, MAX_MARGIN)      named when score <= threshold
 *
 * (d1, d2: distances to the closest and second-closest person). With marginWeight 0 it is the
 * plain threshold. The shipped values (FACE_MODEL.identification) are calibrated for a target
 * false-identification rate, see face-model.ts.
 */

export interface IdentificationRule {
  /** A face is named when its score is at most this. */
  threshold: number;
  /** How much the margin to the second person counts (0: plain distance threshold). */
  marginWeight: number;
}

export interface PersonMatch {
  personId: string;
  faceId: string;
  distance: number;
}

/** A margin beyond this says nothing more (and stands in for a gallery of one person). */
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
  const [first, second] = sortedPersons(matches);
  if (first === undefined) return undefined;
  const margin = Math.min(second === undefined ? MAX_MARGIN : second.distance - first.distance, MAX_MARGIN);
  return first.distance - rule.marginWeight * margin;
}

/** The person named for a probe with these per-person matches, or null for nobody. */
export function decideIdentity(matches: readonly PersonMatch[], rule: IdentificationRule): string | null {
  const score = identificationScore(matches, rule);
  return score !== undefined && score <= rule.threshold ? sortedPersons(matches)[0].personId : null;
}

/** One entry per person, ascending (callers usually pass bestPerPerson output already). */
function sortedPersons(matches: readonly PersonMatch[]): PersonMatch[] {
  return bestPerPerson(matches, 2);
}
