import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr when stderr is a terminal, and nothing otherwise: redirected output and
 * CI logs stay free of redraw noise, and stdout stays clean for --json.
 */
export function progressBar(label: string): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const started = performance.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} | {rate} images/s | eta {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  const rate = (done: number) => (done / Math.max(1e-3, (performance.now() - started) / 1000)).toFixed(1);
  return {
    update(done, total) {
      if (!running) {
        bar.start(total, done, { rate: rate(done) });
        running = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { rate: rate(done) });
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
