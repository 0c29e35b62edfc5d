/**
 * `facepipe gallery hubs` (issue 22): every enrolled person scored against a cohort of junk and
 * strangers' faces (cohort-normalisation.ts), the persons attracting far more than their share of
 * it, and the per-person offsets that hub normalisation stores. Pure: the caller reads the gallery
 * and embeds the cohort.
 */
import {
  type CohortOptions,
  DEFAULT_COHORT_OPTIONS,
  type EntryCohortScore,
  entryOffsets,
  scoreAgainstCohort,
} from './cohort-normalisation.js';
import type { CohortOffsets } from './cohort-offsets-store.js';
import { COHORT_OFFSETS_SCHEMA_ID } from './cohort-offsets-store.js';

export interface GalleryFace {
  personId: string;
  embedding: ArrayLike<number>;
  /** Enrollment flags (enrollment-flags.ts): why the photo looks like junk. */
  flags?: readonly string[];
}

export interface HubRow extends EntryCohortScore {
  /** hits / share: how many times their fair share of the cohort the person attracts. */
  ratio: number;
  /** The enrollment flags of the person's faces (deduplicated). */
  flags: string[];
}

export interface HubReport {
  persons: number;
  galleryFaces: number;
  cohortFaces: number;
  /** A person's fair share of the cohort (cohort faces / persons). */
  share: number;
  options: CohortOptions;
  /** Persons attracting more than factor x share (and at least minHits) cohort faces, most first. */
  hubs: HubRow[];
  /** The `top` persons by hits (hubs or not), most first. */
  top: HubRow[];
  /** Persons with a non-zero offset. */
  offsetPersons: number;
}

export function hubReport(
  gallery: readonly GalleryFace[],
  cohort: readonly ArrayLike<number>[],
  top = 10,
  options: CohortOptions = DEFAULT_COHORT_OPTIONS,
): { report: HubReport; offsets: Map<string, number> } {
  if (gallery.length === 0) throw new Error('the gallery is empty: nobody to score');
  if (cohort.length === 0) throw new Error('the cohort is empty: no face to score the gallery against');
  const scores = scoreAgainstCohort(gallery, cohort, options);
  const flags = new Map<string, Set<string>>();
  for (const face of gallery)
    for (const f of face.flags ?? [])
      (flags.get(face.personId) ?? flags.set(face.personId, new Set()).get(face.personId)!).add(f);
  const row = (e: EntryCohortScore): HubRow => ({
    ...e,
    ratio: scores.share > 0 ? e.hits / scores.share : 0,
    flags: [...(flags.get(e.personId) ?? [])].sort(),
  });
  const offsets = entryOffsets(scores);
  return {
    report: {
      persons: scores.entries.length,
      galleryFaces: gallery.length,
      cohortFaces: cohort.length,
      share: scores.share,
      options,
      hubs: scores.hubs.map(row),
      top: scores.entries.slice(0, top).map(row),
      offsetPersons: offsets.size,
    },
    offsets,
  };
}

/** The offsets as CohortOffsetsStore keeps them (rounded to 1e-4). */
export function storedOffsets(
  offsets: ReadonlyMap<string, number>,
  report: HubReport,
  source: string,
  now = new Date(),
): CohortOffsets {
  return {
    schema: COHORT_OFFSETS_SCHEMA_ID,
    offsets: Object.fromEntries([...offsets].map(([personId, o]) => [personId, Math.round(o * 1e4) / 1e4])),
    cohort: {
      faces: report.cohortFaces,
      source,
      galleryPersons: report.persons,
      nearest: report.options.nearest,
      computedAt: now.toISOString(),
    },
  };
}
