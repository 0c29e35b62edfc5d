import { IndexServiceError } from '../index/index-service-error.js';
import { logger } from '../logger.js';

/** How long an identify job waits for an unreachable index service by default (FACEPIPE_INDEX_WAIT_MS). */
export const DEFAULT_INDEX_WAIT_MS = 300_000;

export interface IndexWaitOptions {
  /** The longest wait in all, ms (0: no wait, the first failure is thrown). */
  waitMs: number;
  /** First pause between tries, ms (default 250; doubles up to maxDelayMs). */
  firstDelayMs?: number;
  /** Longest pause between tries, ms (default 5000). */
  maxDelayMs?: number;
  /** What is waited for, for the log. */
  what?: string;
}

/**
 * Whether an index service error is one of a service that is restarting or loading: no answer
 * (UNREACHABLE, TIMEOUT), or 502/503/504 (NOT_READY while it loads its snapshot).
 */
export function isIndexOutage(err: unknown): boolean {
  if (!(err instanceof IndexServiceError)) return false;
  return err.status === null || err.status === 502 || err.status === 503 || err.status === 504;
}

/**
 * Calls `call` until it answers, waiting with backoff while the index service is down (isIndexOutage)
 * for at most `waitMs` in all; then throws the last error (the job's attempt fails, and its last
 * attempt writes INDEX_UNAVAILABLE). Any other error is thrown at once. The job's lock is renewed
 * meanwhile: the wait is a timer, not a blocked thread.
 */
export async function withIndexWait<T>(call: () => Promise<T>, options: IndexWaitOptions): Promise<T> {
  const deadline = Date.now() + options.waitMs;
  let delay = options.firstDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5_000;
  let waited = false;
  for (;;) {
    try {
      const answer = await call();
      if (waited) logger.info({ what: options.what }, 'the index service answers again');
      return answer;
    } catch (err) {
      const left = deadline - Date.now();
      if (!isIndexOutage(err) || left <= 0) throw err;
      if (!waited)
        logger.warn(
          { what: options.what, code: (err as IndexServiceError).code, waitMs: options.waitMs },
          `the index service is unavailable (${(err as Error).message}): waiting up to ${Math.round(options.waitMs / 1000)} s`,
        );
      waited = true;
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}
