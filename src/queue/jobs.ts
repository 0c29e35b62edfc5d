import type { QueueName } from './queue-names.js';

/*
 * The job contracts: for each queue, the data its producer adds and the result its worker returns
 * (BullMQ's return value, which `--wait` and the job tracker read back). Producers and workers both
 * import this module and never each other (DESIGN.md, "Layout").
 */

/** What every job that reads images from a source storage carries. */
export interface SourceJobData {
  /** Canonical URL of the deployment's storage (gallery, results); a worker refuses other storages. */
  storageUrl: string;
  /** URL of the storage the keys are read from. */
  sourceUrl: string;
  /** Embedding model id; a worker running another model refuses the job. */
  model: string;
}

// --- enroll -------------------------------------------------------------------------------------

/** An image to enroll, with the version (etag) that was seen when listing. */
export interface EnrollItem {
  key: string;
  personId: string;
  name?: string;
  etag: string;
  size: number;
}

/** The data of one enroll job: a chunk of images of one source, for one deployment and model. */
export interface EnrollJobData extends SourceJobData {
  items: EnrollItem[];
}

/** The outcome of one enroll job. */
export interface EnrollJobResult {
  images: number;
  /** Images whose face is now in the gallery. */
  enrolled: number;
  /** Images that failed for good; their codes are counted in `errors`. */
  failed: number;
  /** Faces detected in all images (enrollment keeps one per image). */
  facesDetected: number;
  /** FaceErrorCode -> images. */
  errors: Record<string, number>;
  /** The gallery segment written, when any face was enrolled. */
  segment?: string;
}

// --- identify -----------------------------------------------------------------------------------

/** A snapshot to identify, with the version and time seen when listing. */
export interface SnapshotItem {
  key: string;
  etag: string;
  size: number;
  /** ISO 8601 last-modified time of the object. */
  modified: string;
}

/** The data of one identify job: a chunk of snapshots of one run. */
export interface IdentifyJobData extends SourceJobData {
  run: string;
  items: SnapshotItem[];
  /**
   * The 1:N rule settings the run was started with (`facepipe identify --identification-threshold
   * --margin-weight`): laid over the worker's rule for this job, as `search` lays them over the service's.
   */
  rule?: { threshold?: number; marginWeight?: number };
}

/** The outcome of one identify job. */
export interface IdentifyJobResult {
  snapshots: number;
  /** Snapshots whose result holds an error. */
  failed: number;
  faces: number;
  identified: number;
  /** Error code -> snapshots, when any failed (the worker's log line and metrics name them). */
  errors?: Record<string, number>;
}

// --- schedule -----------------------------------------------------------------------------------

/** The data of a job the `schedule` queue's schedulers create (one kind so far). */
export interface ScheduleJobData {
  kind: 'identify';
  /** Canonical storage URL of the snapshots to identify (see canonicalStorageUrl). */
  source: string;
}

/** What the identify producer did with a run's planned jobs. */
export interface IdentifyEnqueueSummary {
  snapshots: number;
  /** Snapshots that have their result file in this run already. */
  alreadyDone: number;
  /** Snapshots in jobs still waiting or running. */
  alreadyQueued: number;
  enqueued: number;
  jobs: number;
}

/** An identify run enqueued (`facepipe identify` without --wait). */
export interface IdentifyEnqueueReport extends IdentifyEnqueueSummary {
  run: string;
  since: string | null;
  resultsPrefix: string;
}

/** The outcome of one schedule job: the identify run it enqueued. */
export type ScheduleJobResult = IdentifyEnqueueReport;

// --- by queue -----------------------------------------------------------------------------------

/** Each queue's contract. A queue name without an entry here does not compile (JobData<Q>). */
export interface JobContracts {
  enroll: { data: EnrollJobData; result: EnrollJobResult };
  identify: { data: IdentifyJobData; result: IdentifyJobResult };
  schedule: { data: ScheduleJobData; result: ScheduleJobResult };
}

export type JobData<Q extends QueueName> = JobContracts[Q]['data'];
export type JobResult<Q extends QueueName> = JobContracts[Q]['result'];
