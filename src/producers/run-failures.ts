import type { GalleryStore } from '../gallery/gallery-store.js';
import type { ResultStore } from '../results/result-store.js';
import { compareKeys } from '../storage/compare-keys.js';
import type { RunStore } from './run-store.js';
import { SourceError } from './source-error.js';
import type { RunFailure } from './types.js';

/** An enrollment failure as `facepipe failures --enroll` lists it: which source, and when. */
export interface EnrollFailureItem extends RunFailure {
  personId: string;
  source: string;
  failedAt: string;
}

/**
 * Every failed snapshot of an identify run, by key: the result files with an error, and the
 * planned snapshots that have no result file (NO_RESULT: the job failed for good, or is still
 * queued). Throws a SourceError for a run that storage does not hold.
 */
export async function identifyRunFailures(runs: RunStore, results: ResultStore, run: string): Promise<RunFailure[]> {
  const record = await runs.get(run);
  if (record === undefined) throw new SourceError(`no identify run ${JSON.stringify(run)} in this storage`);
  const failures: RunFailure[] = [];
  const done = new Set<string>();
  for await (const { result } of results.read(run)) {
    done.add(result.input.key);
    if (result.error !== null)
      failures.push({ key: result.input.key, code: result.error.code, message: result.error.message });
  }
  for (const job of record.jobs)
    for (const item of job.items)
      if (!done.has(item.key))
        failures.push({
          key: item.key,
          code: 'NO_RESULT',
          message: `no result file: job ${job.jobId} failed for good or has not run yet`,
        });
  return failures.sort((a, b) => compareKeys(a.key, b.key));
}

/**
 * The gallery's enrollment failures that still stand, by source and key: an image since enrolled
 * (fixed and enrolled again, under the same key and person) is left out, and an image that
 * failed more than once is listed once, with its latest failure.
 */
export async function standingEnrollFailures(gallery: GalleryStore): Promise<EnrollFailureItem[]> {
  const [records, failures] = await Promise.all([gallery.readAll(), gallery.readFailures()]);
  const id = (source: string, key: string, personId: string) => JSON.stringify([source, key, personId]);
  const enrolledAt = new Map<string, string>();
  for (const r of records) {
    const k = id(r.source, r.sourceKey, r.personId);
    const last = enrolledAt.get(k);
    if (last === undefined || r.enrolledAt > last) enrolledAt.set(k, r.enrolledAt);
  }
  const latest = new Map<string, EnrollFailureItem>();
  for (const f of failures) {
    const k = id(f.source, f.sourceKey, f.personId);
    const enrolled = enrolledAt.get(k);
    if (enrolled !== undefined && enrolled >= f.failedAt) continue;
    const seen = latest.get(k);
    if (seen !== undefined && seen.failedAt >= f.failedAt) continue;
    latest.set(k, {
      key: f.sourceKey,
      personId: f.personId,
      code: f.code,
      message: f.message,
      source: f.source,
      failedAt: f.failedAt,
    });
  }
  return [...latest.values()].sort((a, b) => compareKeys(a.source, b.source) || compareKeys(a.key, b.key));
}
