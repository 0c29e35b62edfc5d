import type { StageTimings } from '../src/engine/stage-timings.js';

/**
 * Where a benchmark's images spent their time: the engine's per-image stage timings
 * (ImageAnalysis.timings) and the bench's own stages (search, write), summed over the images.
 */
export class StageProfile {
  private readonly totals = new Map<string, number>();
  private images = 0;

  /** One image's timings (milliseconds per stage). */
  add(timings: StageTimings | undefined): void {
    this.images++;
    for (const [stage, ms] of Object.entries(timings ?? {})) this.addStage(stage, ms);
  }

  /** Time the bench itself spent in `stage` (not counted as an image). */
  addStage(stage: string, ms: number): void {
    this.totals.set(stage, (this.totals.get(stage) ?? 0) + ms);
  }

  /** The table: per stage ms per image and share of all stages' time, largest first. */
  table(label: string): string {
    const total = [...this.totals.values()].reduce((a, b) => a + b, 0);
    const rows = [...this.totals.entries()].sort((a, b) => b[1] - a[1]);
    const lines = [
      `${label}: where a snapshot's time goes (${this.images} snapshots; ms per snapshot summed over the worker threads, so about threads x the wall time per snapshot)`,
      `  ${'stage'.padEnd(24)}${'ms/snapshot'.padStart(12)}${'share'.padStart(8)}`,
      ...rows.map(
        ([stage, ms]) =>
          `  ${stage.padEnd(24)}${(ms / Math.max(1, this.images)).toFixed(1).padStart(12)}${`${((100 * ms) / total).toFixed(1)}%`.padStart(8)}`,
      ),
      `  ${'total'.padEnd(24)}${(total / Math.max(1, this.images)).toFixed(1).padStart(12)}${'100.0%'.padStart(8)}`,
    ];
    return lines.join('\n');
  }

  /** ms per snapshot by stage, for the JSON line. */
  toJSON(): Record<string, number> {
    return Object.fromEntries(
      [...this.totals.entries()].map(([stage, ms]) => [stage, Number((ms / Math.max(1, this.images)).toFixed(1))]),
    );
  }
}
