import type { RunFailure, SkippedFiles } from '../producers/types.js';
import { printLine } from './output.js';

/** Failures a text summary names; the rest are counted, and `facepipe failures` lists them all. */
export const FAILURES_SHOWN = 10;

/**
 * The first FAILURES_SHOWN failures, one line each (key, code, message), and where to see the rest.
 * `total` counts them all; `more` is the command that lists every one.
 */
export function printFailures(failures: readonly RunFailure[], total: number, more: string): void {
  if (total === 0) return;
  const shown = failures.slice(0, FAILURES_SHOWN);
  printLine(`failed (${total}${total > shown.length ? `, first ${shown.length} by key` : ''}):`);
  for (const f of shown) printLine(`  ${failureLine(f)}`);
  if (total > shown.length) printLine(`  ... ${total - shown.length} more: ${more}`);
}

/** key, person (enrollment), code, message: tab-separated. */
export function failureLine(f: RunFailure): string {
  return [f.key, ...(f.personId !== undefined ? [f.personId] : []), f.code, f.message].join('\t');
}

/** Files of a source a run did not read (unsupported types, refused links): a count by code, and the first of them. */
export function printSkipped(skipped: SkippedFiles): void {
  const entries = Object.entries(skipped.skippedByCode);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return;
  const shown = skipped.skippedFiles.slice(0, FAILURES_SHOWN);
  printLine(`not read (${total}: ${entries.map(([code, n]) => `${code} ${n}`).join(', ')}):`);
  for (const f of shown) printLine(`  ${failureLine(f)}`);
  if (total > shown.length) printLine(`  ... ${total - shown.length} more: --json lists the first 100`);
}
