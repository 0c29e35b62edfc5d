import type { Queue } from 'bullmq';

/** States read at once, and how many unfinished jobs in a row end a scan. */
const SCAN_BATCH = 32;
const SCAN_WINDOW = 128;

export interface TrackedJobs<R> {
  /** jobId -> return value of each completed job. */
  completed: Map<string, R>;
  /** jobId -> failure reason of each job that failed for good (attempts used up). */
  failed: Map<string, string>;
}

export interface JobTrackerOptions<R> {
  /** How often the jobs' states are read (default 500 ms). */
  pollMs?: number;
  /** Called whenever a job finished since the last call. */
  onProgress?: (finished: TrackedJobs<R>) => void;
  /** Stop waiting when it resolves (e.g. on SIGINT); what finished so far is returned. */
  abort?: AbortSignal;
}

/**
 * Waits until the given jobs finish, by reading their states: unlike queue events, a poll cannot
 * miss a job that finished before the tracker started, or while Redis was briefly unreachable.
 * A job id that Redis no longer knows (removed) counts as failed with that reason.
 */
export async function waitForJobs<R>(
  queue: Queue,
  jobIds: readonly string[],
  options: JobTrackerOptions<R> = {},
): Promise<TrackedJobs<R>> {
  const result: TrackedJobs<R> = { completed: new Map(), failed: new Map() };
  let pending = [...new Set(jobIds)];
  const pollMs = options.pollMs ?? 500;
  while (pending.length > 0 && !options.abort?.aborted) {
    const before = pending.length;
    const finished = new Set<string>();
    // Jobs run roughly in the order they were added: scan from the oldest pending one and stop after
    // a window of unfinished ones, so a poll costs what finished since the last, not the whole run.
    let unfinishedRun = 0;
    for (let start = 0; start < pending.length && unfinishedRun < SCAN_WINDOW; start += SCAN_BATCH) {
      const batch = pending.slice(start, start + SCAN_BATCH);
      const states = await Promise.all(batch.map((jobId) => queue.getJobState(jobId)));
      for (let i = 0; i < batch.length; i++) {
        const jobId = batch[i];
        if (states[i] === 'completed') {
          result.completed.set(jobId, (await queue.getJob(jobId))?.returnvalue as R);
        } else if (states[i] === 'failed') {
          result.failed.set(jobId, (await queue.getJob(jobId))?.failedReason ?? 'failed');
        } else if (states[i] === 'unknown') {
          result.failed.set(jobId, 'the job was removed from the queue before it finished');
        } else {
          unfinishedRun++;
          continue;
        }
        finished.add(jobId);
        unfinishedRun = 0;
      }
    }
    pending = pending.filter((jobId) => !finished.has(jobId));
    if (pending.length < before) options.onProgress?.(result);
    if (pending.length > 0) await sleep(pollMs, options.abort);
  }
  return result;
}

function sleep(ms: number, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      abort?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abort?.addEventListener('abort', done, { once: true });
  });
}
