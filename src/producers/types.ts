/** One line of an enrollment manifest: which image belongs to which person. */
export interface ManifestEntry {
  /** Storage key of the image, relative to the source storage. */
  key: string;
  personId: string;
  name?: string;
  /** 1-based line in the manifest file, for messages. */
  line: number;
}

/** An image to enroll, with the version (etag) that was seen when listing. */
export interface EnrollItem {
  key: string;
  personId: string;
  name?: string;
  etag: string;
  size: number;
}

/** A key that is not enrolled, and why. */
export interface SkippedKey {
  key: string;
  reason: string;
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
}

/** The data of one enroll job: a chunk of images of one source, for one deployment and model. */
export interface EnrollJobData {
  /** Canonical URL of the deployment's storage (holds the gallery); a worker refuses other storages. */
  storageUrl: string;
  /** URL of the storage the keys are read from. */
  sourceUrl: string;
  model: string;
  items: EnrollItem[];
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

/** A snapshot to identify, with the version and time seen when listing. */
export interface SnapshotItem {
  key: string;
  etag: string;
  size: number;
  /** ISO 8601 last-modified time of the object. */
  modified: string;
}

/** The data of one identify job: a chunk of snapshots of one run. */
export interface IdentifyJobData {
  storageUrl: string;
  sourceUrl: string;
  run: string;
  model: string;
  items: SnapshotItem[];
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
  /** Set once every snapshot has its result file. */
  completedAt?: string;
  /** The job plan: re-running the run re-enqueues exactly these jobs. */
  jobs: Array<{ jobId: string; items: SnapshotItem[] }>;
}
