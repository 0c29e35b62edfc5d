/**
 * Label noise in the nights' people pool (../shared/datasets/lfw-dev): photos filed under one LFW
 * name that show a person enrolled under another. On a night such a "stranger" is in fact an
 * enrolled person; no threshold can refuse it without refusing that person too, so it made a 1%
 * FPIR target unreachable (docs/experiments/2026-12-06-calibrate-nights-label-noise.md).
 *
 * Each entry was found by bench/night/suspect-strangers.ts (a stranger closer to an enrolled person
 * than 99% of the enrolled faces are to their own person) and then checked by eye on both photos.
 * The night builder treats the listed photos as that person: a stranger face pasted from one of
 * them is labelled as `person`, enrolled when `person` is in the night's gallery. Nothing else
 * about a night changes (the same snapshots for the same seed). Not a rule: a stranger who merely
 * looks like an enrolled person stays a stranger, that is the false alarm the benchmark measures.
 */
export interface DuplicateIdentity {
  /** The LFW name the gallery knows the person by. */
  person: string;
  /** Photos (relative to lfw-dev) filed under another name that show this person. */
  photos: readonly string[];
  /** What was seen when checking by eye. */
  why: string;
}

export const DUPLICATE_IDENTITIES: readonly DuplicateIdentity[] = [];
