import type { EnrollItem, SnapshotItem } from '../queue/jobs.js';

/** One line of an enrollment manifest: which image belongs to which person. */
export interface ManifestEntry {
  /** Storage key of the image, relative to the source storage. */
  key: string;
  personId: string;
  name?: string;
  /** 1-based line in the manifest file, for messages. */
  line: number;
  /** Why the line's person id breaks the rule (gallery/person-id.ts): the line fails, the run goes on. */
  personIdProblem?: string;
}

/**
 * A manifest line or folder not enrolled because its person id breaks the rule (INVALID_PERSON_ID),
 * or its key is one the storage refuses (INVALID_KEY, SYMLINK_REFUSED); `reason` names the line or path.
 */
export interface InvalidPersonKey {
  key: string;
  reason: string;
  /** Default INVALID_PERSON_ID. */
  code?: string;
}

/** A file of a source that is not read, and why: UNSUPPORTED_TYPE, SYMLINK_REFUSED, OUTSIDE_LAYOUT. */
export interface SkippedKey {
  key: string;
  reason: string;
  code: string;
}

/** Files of a source a run did not read (not failures): how many by code, and the first of them by key. */
export interface SkippedFiles {
  /** Code (UNSUPPORTED_TYPE, SYMLINK_REFUSED, OUTSIDE_LAYOUT) -> files. */
  skippedByCode: Record<string, number>;
  /** The first MAX_SUMMARY_FAILURES skipped files by key, each with its code and why. */
  skippedFiles: RunFailure[];
}

/** A manifest key that the source storage does not hold (the summary reports MISSING_FILE). */
export interface MissingKey {
  key: string;
  personId: string;
  line: number;
}

export interface EnrollListing {
  items: EnrollItem[];
  skipped: SkippedKey[];
  missing: MissingKey[];
  /** Manifest lines and person folders whose id breaks the rule (counted as INVALID_PERSON_ID). */
  invalid: InvalidPersonKey[];
}

export interface EnqueueSummary {
  /** Images offered. */
  images: number;
  /** Images whose (key, etag, model) face is already in the gallery. */
  alreadyEnrolled: number;
  /** Images whose same version already failed for good (recorded in the gallery's failures). */
  alreadyFailed: number;
  /** Images in jobs that were already waiting, active or delayed in the queue. */
  alreadyQueued: number;
  /** Images in jobs added by this call. */
  enqueued: number;
  /** Jobs added by this call. */
  jobs: number;
  /** Ids of the jobs holding the offered images not yet done: added now, or already queued. */
  jobIds: string[];
}

/** One identification run (facepipe/runs/<run>.json). */
export interface IdentifyRunRecord {
  run: string;
  /** Canonical URL of the source. */
  source: string;
  /** Snapshots modified after this (ISO), or null for all. */
  since: string | null;
  /** The newest `modified` among the run's snapshots (or `since` when it has none): the next run starts here. */
  watermark: string | null;
  snapshots: number;
  createdAt: string;
  /** Set once every snapshot has its result file, none of them a transient outage's. */
  completedAt?: string;
  /** Files of the source the run did not read (unsupported types, refused links); absent in older runs. */
  skipped?: SkippedFiles;
  /** The job plan: re-running the run re-enqueues exactly these jobs. */
  jobs: Array<{ jobId: string; items: SnapshotItem[] }>;
}

/** One input that failed in a run: its key, the error code and message (and the person, for enrollment). */
export interface RunFailure {
  key: string;
  code: string;
  message: string;
  personId?: string;
}

/** Failures as a summary carries them: the first `items` (capped) and how many there are. */
export const MAX_SUMMARY_FAILURES = 100;

/** One person an identify run saw: in how many snapshots, and the first and last of them. */
export interface PersonSeen {
  personId: string;
  snapshots: number;
  first: { key: string; at: string };
  last: { key: string; at: string };
}
