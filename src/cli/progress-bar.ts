import cliProgress from 'cli-progress';

export interface Progress {
  /** `failed` and `extra` show only when the bar was made with them in mind (see options). */
  update(done: number, total: number, more?: { failed?: number; extra?: number }): void;
  stop(): void;
}

export interface ProgressOptions {
  /** What is counted (default 'images'). */
  unit?: string;
  /** A second count shown with its rate, e.g. 'faces'. */
  extra?: string;
}

/**
 * A progress bar on stderr when stderr is a terminal, and nothing otherwise: redirected output and
 * CI logs stay free of redraw noise, and stdout stays clean for --json.
 */
export function progressBar(label: string, options: ProgressOptions = {}): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const started = performance.now();
  const unit = options.unit ?? 'images';
  const extra = options.extra ? ` | {extraRate} ${options.extra}/s | {failed} failed` : '';
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} | {rate} ${unit}/s${extra} | eta {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  const rate = (done: number) => (done / Math.max(1e-3, (performance.now() - started) / 1000)).toFixed(1);
  return {
    update(done, total, more = {}) {
      const payload = { rate: rate(done), extraRate: rate(more.extra ?? 0), failed: more.failed ?? 0 };
      if (!running) {
        bar.start(total, done, payload);
        running = true;
      } else {
        bar.setTotal(total);
        bar.update(done, payload);
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

/** One bar per step of a longer run: a step with a new label stops the bar of the step before. */
export function progressSteps(options: ProgressOptions = {}): {
  update(label: string, done: number, total: number): void;
  stop(): void;
} {
  let current: { label: string; bar: Progress } | undefined;
  return {
    update(label, done, total) {
      if (current?.label !== label) {
        current?.bar.stop();
        current = { label, bar: progressBar(label, options) };
      }
      current.bar.update(done, total);
    },
    stop() {
      current?.bar.stop();
      current = undefined;
    },
  };
}
