import type { JobsOptions } from 'bullmq';

/** The job options a producer may override. */
export type ProducerJobOptions = Pick<JobsOptions, 'attempts' | 'backoff' | 'removeOnComplete' | 'removeOnFail'>;

/**
 * Work jobs (enroll, identify): five attempts with exponential backoff from 5 s (transient faults
 * pass; nothing is retried forever), finished jobs kept a week (completed) or a month (failed) so
 * producers and `--wait` can read their outcome.
 */
export const DEFAULT_JOB_OPTIONS: Required<ProducerJobOptions> = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

/** Job states in which a job will still run (or is running): an equal job id is not added again. */
export const PENDING_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
]);
