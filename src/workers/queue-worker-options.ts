/** Settings of one queue consumer. */
export interface QueueWorkerOptions {
  /** Jobs run at once by this process. */
  concurrency: number;
  /** How long a job's lock lasts without renewal: a killed worker's job is taken over after about this long. */
  lockDurationMs: number;
  /** How often stalled jobs (locks expired) are looked for. */
  stalledIntervalMs: number;
}

export const DEFAULT_QUEUE_WORKER_OPTIONS: QueueWorkerOptions = {
  concurrency: 4,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
};
