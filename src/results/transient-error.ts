import type { ResultJson } from './result-types.js';

/**
 * Result error codes of a transient outage (the index service or the source storage unreachable for
 * the job's whole retry window), as opposed to a fault of the image itself. Such a result is written
 * so that the operator sees it, but it does not count as done: a re-run of the run and the next run
 * of the source identify the snapshot again, overwriting the file, and the run is not complete.
 */
export const TRANSIENT_RESULT_CODES: ReadonlySet<string> = new Set(['INDEX_UNAVAILABLE', 'SOURCE_UNAVAILABLE']);

/** Whether a result records a transient outage rather than an outcome for its snapshot. */
export function isTransientResult(result: Pick<ResultJson, 'error'>): boolean {
  return result.error !== null && TRANSIENT_RESULT_CODES.has(result.error.code);
}
