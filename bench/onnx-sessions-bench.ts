/**
 * npx tsx bench/onnx-sessions-bench.ts [--n 60] [--night reports/night]
 * How the onnx backend's sessions should use the cores (issue 24): the same N night snapshots
 * (bench:identify's night, else N LFW images) analyzed, one after another in one run, by
 *   per-thread: one engine worker thread per core, each its own sessions with 1 intra-op thread,
 *               spinning off (the default);
 *   intra-op:   one worker thread whose sessions have one intra-op thread per core;
 *   both:       a worker thread per core, and sessions with an intra-op thread per core each.
 * Prints images/s of each.
 */
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { FaceEngine } from '../src/engine/face-engine.js';
import type { OnnxThreading } from '../src/engine/onnx/onnx-runtime.js';
import { forEachConcurrent } from '../src/util/for-each-concurrent.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';
import { lfwSample } from './lfw-sample.js';

const { n, night } = optionsOrExit('onnx-sessions-bench', () =>
  parseOptions(
    { n: { type: 'string', default: '60' }, night: { type: 'string', default: 'reports/night' } },
    z.object({ n: integer(1), night: z.string().min(1) }),
  ),
);
const cores = os.availableParallelism();
const nightDir = path.resolve(night, 'night');
const files = existsSync(nightDir)
  ? readdirSync(nightDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.jpg'))
      .sort()
      .slice(0, n)
      .map((f) => path.join(nightDir, f))
  : lfwSample(n);

const setups: Array<{ label: string; threads: number; onnxThreading: OnnxThreading }> = [
  { label: 'per-thread', threads: cores, onnxThreading: { mode: 'per-thread' } },
  { label: 'intra-op', threads: 1, onnxThreading: { mode: 'intra-op', threads: cores } },
  { label: 'both', threads: cores, onnxThreading: { mode: 'intra-op', threads: cores } },
];
const results: Record<string, number> = {};
for (const setup of setups) {
  const engine = await FaceEngine.start({
    backend: 'onnx',
    threads: setup.threads,
    onnxThreading: setup.onnxThreading,
  });
  // Warm-up (first runs allocate), not timed.
  await Promise.all(files.slice(0, 2 * setup.threads).map((f) => engine.analyze(f)));
  const started = performance.now();
  await forEachConcurrent(files, 2 * setup.threads, async (file) => {
    await engine.analyze(file);
  });
  const seconds = (performance.now() - started) / 1000;
  await engine.close();
  results[setup.label] = files.length / seconds;
  console.log(
    `${setup.label.padEnd(11)} ${setup.threads} worker thread(s), intra-op ${setup.onnxThreading.mode === 'per-thread' ? 1 : setup.onnxThreading.threads}: ${(files.length / seconds).toFixed(3)} images/s (${seconds.toFixed(1)} s)`,
  );
}
console.log(
  JSON.stringify({ images: files.length, source: existsSync(nightDir) ? 'night' : 'lfw', imagesPerSecond: results }),
);
