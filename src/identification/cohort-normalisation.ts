/**
 * Hubs (issue 22): an enrolled face whose embedding sits where junk lands (background boxes,
 * blurred fragments, strangers) is the closest person to much of it, and the margin rule names it
 * again and again. Scored against a cohort of such junk, each gallery entry gets:
 * - its share of the cohort (how many cohort faces have it as their closest person), to list the
 *   persons that attract far more than their share (`hubs`);
 * - an offset added to every distance to it before the 1:N rule (DecisionRule.entryOffsets): how
 *   much closer to the cohort it stands than the typical entry (the median), never below 0, so a
 *   hub needs to be that much closer to be named and nobody becomes easier to name.
 */
import { faceDistance } from '../engine/face-distance.js';

export interface CohortEntry {
  personId: string;
  embedding: ArrayLike<number>;
}

export interface CohortOptions {
  /** An entry's closeness to the cohort: the mean distance to its `nearest` closest cohort faces. */
  nearest: number;
  /** A person is a hub when they are the closest person to more than `factor` x their share. */
  factor: number;
  /** ... and to at least this many cohort faces. */
  minHits: number;
}

export const DEFAULT_COHORT_OPTIONS: CohortOptions = { nearest: 10, factor: 5, minHits: 3 };

export interface EntryCohortScore {
  personId: string;
  /** Mean distance to its `nearest` closest cohort faces (the person's closest face, for several). */
  cohortDistance: number;
  /** Cohort faces whose closest gallery person it is. */
  hits: number;
  /** The offset the rule adds to its distances (>= 0). */
  offset: number;
}

export interface CohortScores {
  /** One per person, most hits first. */
  entries: EntryCohortScore[];
  /** Cohort faces / persons: a person's fair share of hits. */
  share: number;
  /** The persons attracting more than factor x share (and minHits) hits, most hits first. */
  hubs: EntryCohortScore[];
}

/** Scores every gallery person against a cohort of junk embeddings. */
export function scoreAgainstCohort(
  gallery: readonly CohortEntry[],
  cohort: readonly ArrayLike<number>[],
  options: CohortOptions = DEFAULT_COHORT_OPTIONS,
): CohortScores {
  const persons = new Map<string, { cohortDistance: number; hits: number }>();
  const nearest = Math.max(1, Math.min(options.nearest, cohort.length));
  for (const { personId, embedding } of gallery) {
    const distances = cohort.map((c) => faceDistance(embedding, c)).sort((a, b) => a - b);
    const mean = distances.slice(0, nearest).reduce((sum, d) => sum + d, 0) / nearest;
    const seen = persons.get(personId);
    if (!seen || mean < seen.cohortDistance) persons.set(personId, { cohortDistance: mean, hits: 0 });
  }
  for (const c of cohort) {
    let best: string | undefined;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const { personId, embedding } of gallery) {
      const d = faceDistance(embedding, c);
      if (d < bestDistance) {
        bestDistance = d;
        best = personId;
      }
    }
    if (best !== undefined) persons.get(best)!.hits++;
  }
  const typical = median([...persons.values()].map((p) => p.cohortDistance));
  const entries = [...persons]
    .map(([personId, p]) => ({ personId, ...p, offset: Math.max(0, typical - p.cohortDistance) }))
    .sort((a, b) => b.hits - a.hits || a.personId.localeCompare(b.personId));
  const share = persons.size > 0 ? cohort.length / persons.size : 0;
  const hubs = entries.filter((e) => e.hits >= options.minHits && e.hits > options.factor * share);
  return { entries, share, hubs };
}

/** The per-person offsets for DecisionRule.entryOffsets (only the non-zero ones). */
export function entryOffsets(scores: CohortScores): Map<string, number> {
  return new Map(scores.entries.filter((e) => e.offset > 0).map((e) => [e.personId, e.offset]));
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
