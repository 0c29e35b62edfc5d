import { compareKeys } from '../storage/compare-keys.js';
import { MAX_SUMMARY_FAILURES, type SkippedFiles, type SkippedKey } from './types.js';

/** What a summary says of the files a run did not read: counts by code, and the first files by key. */
export function skippedFiles(skipped: readonly SkippedKey[]): SkippedFiles {
  const counts = new Map<string, number>();
  for (const { code } of skipped) counts.set(code, (counts.get(code) ?? 0) + 1);
  // Codes in name order: the text summary reads the same from run to run.
  const skippedByCode = Object.fromEntries([...counts].sort(([a], [b]) => compareKeys(a, b)));
  const files = [...skipped]
    .sort((a, b) => compareKeys(a.key, b.key))
    .slice(0, MAX_SUMMARY_FAILURES)
    .map(({ key, code, reason }) => ({ key, code, message: reason }));
  return { skippedByCode, skippedFiles: files };
}
