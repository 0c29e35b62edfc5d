import fs from 'node:fs';
import path from 'node:path';

/** The shared LFW development split, reached from the project root; benchmarks skip without it. */
export const LFW_DIR = path.resolve('../shared/datasets/lfw-dev');

/** N images spread evenly over the sorted LFW file list (deterministic, many different people). */
export function lfwSample(n: number): string[] {
  if (!fs.existsSync(LFW_DIR)) {
    console.error(`skipped: ${LFW_DIR} is absent (benchmarks need ../shared/datasets/lfw-dev)`);
    process.exit(0);
  }
  const files = fs
    .readdirSync(LFW_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => fs.readdirSync(path.join(LFW_DIR, d.name)).map((f) => path.join(LFW_DIR, d.name, f)))
    .filter((f) => f.endsWith('.jpg'))
    .sort();
  const step = files.length / Math.min(n, files.length);
  return Array.from({ length: Math.min(n, files.length) }, (_, i) => files[Math.floor(i * step)]);
}
