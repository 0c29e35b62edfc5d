/**
 * Label noise in the nights' people pool (../shared/datasets/lfw-dev): photos filed under one LFW
 * name that show a person enrolled under another. On a night such a "stranger" is in fact an
 * enrolled person; no threshold can refuse it without refusing that person too, so it made a 1%
 * FPIR target unreachable (docs/experiments/2026-12-06-calibrate-nights-label-noise.md).
 *
 * Entries are found by a spelling check of the names (below) or by bench/night/suspect-strangers.ts
 * (a stranger closer to an enrolled person than 99% of the enrolled faces are to their own person),
 * and each is checked by eye on the photos. The night builder treats the listed names and photos
 * as that person: a STRANGER face pasted from one of them is labelled as `person`, enrolled when
 * `person` is in the night's gallery (a person enrolled under both names keeps two gallery
 * entries: naming the other one counts as a misidentification still). Nothing else
 * about a night changes (the same snapshots for the same seed). Not a rule: a stranger who merely
 * looks like an enrolled person stays a stranger, that is the false alarm the benchmark measures.
 */
export interface DuplicateIdentity {
  /** An LFW name of the person. */
  person: string;
  /** Other LFW names of the same person: every photo filed under them shows `person`. */
  names?: readonly string[];
  /** Single photos (relative to lfw-dev) filed under another name that show this person. */
  photos?: readonly string[];
  /** What was seen when checking by eye. */
  why: string;
}

/**
 * Found so far: the strangers with the lowest rule scores on night 1 (seed 1, 300 snapshots),
 * looked at; and pairs of LFW names within two letters of each other (a spelling check over all
 * 3,554 names gave 26 pairs), each pair looked at; the two below are one person, the other 24 are
 * different people (e.g. Kim_Hong-gul / Kim_Hong-up are brothers, David_Kelley / David_Kelly two men).
 */
export const DUPLICATE_IDENTITIES: readonly DuplicateIdentity[] = [
  {
    person: 'Hassan_Wirajuda',
    names: ['Hasan_Wirayuda'],
    why: "Indonesia's foreign minister, one man in both names' photos (transliterations)",
  },
  {
    person: 'Andrew_Gilligan',
    photos: ['Andrew_Caldecott/Andrew_Caldecott_0001.jpg'],
    why: "the same news photo as Andrew_Gilligan_0001.jpg (same frame, background and crop; the files differ in bytes): night 1's closest stranger, rule score -0.046",
  },
  {
    person: 'Noer_Muis',
    names: ['Noer_Moeis'],
    why: 'the same general in uniform, same glasses and face in both names photos (spellings)',
  },
];
