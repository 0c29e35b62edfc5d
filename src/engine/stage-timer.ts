import type { StageTimings } from './stage-timings.js';

/** Collects StageTimings while one task runs (stages run one after another on one thread). */
export class StageTimer {
  readonly timings: StageTimings = {};

  add(stage: string, ms: number): void {
    this.timings[stage] = (this.timings[stage] ?? 0) + ms;
  }

  /** Runs `work` and adds its wall time to `stage`. */
  async time<T>(stage: string, work: () => T | Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add(stage, performance.now() - started);
    }
  }
}

/** Runs `work`, timed under `stage` when there is a timer. */
export async function timed<T>(timer: StageTimer | undefined, stage: string, work: () => T | Promise<T>): Promise<T> {
  return timer ? timer.time(stage, work) : work();
}
