import type { Queue } from 'bullmq';
import { forEachConcurrent } from '../util/for-each-concurrent.js';

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
export async function waitForJobs<R>(queue: Queue, jobIds: readonly string[], options: JobTrackerOptions<R> = {}): Promise<TrackedJobs<R>> {
  const result: TrackedJobs<R> = { completed: new Map(), failed: new Map() };
  let pending = [...new Set(jobIds)];
  const pollMs = options.pollMs ?? 500;
  while (pending.length > 0 && !options.abort?.aborted) {
    const before = pending.length;
    const still: string[] = [];
    await forEachConcurrent(pending, 32, async (jobId) => {
      const state = await queue.getJobState(jobId);
      if (state === 'completed') {
        const job = await queue.getJob(jobId);
        result.completed.set(jobId, job?.returnvalue as R);
      } else if (state === 'failed') {
        const job = await queue.getJob(jobId);
        result.failed.set(jobId, job?.failedReason ?? 'failed');
      } else if (state === 'unknown') {
        result.failed.set(jobId, 'the job was removed from the queue before it finished');
      } else {
        still.push(jobId);
      }
    });
    pending = still;
    if (pending.length < before) options.onProgress?.(result);
    if (pending.length > 0) await sleep(pollMs, options.abort);
  }
  return result;
}

function sleep(ms: number, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    abort?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
