/**
 * npx tsx bench/onnx-sessions-bench.ts [--n 40] [--night reports/night] [--setups wasm,per-thread,intra-op]
 * The onnx backend against wasm, and how its sessions should use the cores (issue 24), on the same
 * first N snapshots of bench:identify's night (no gallery: speed, detection and embeddings only),
 * one setup after another in one run:
 *   wasm:       tfjs-wasm, one engine worker thread per core (the previous default);
 *   per-thread: onnx, one worker thread per core, each its own sessions with 1 intra-op thread,
 *               spinning off (the default);
 *   intra-op:   onnx, one worker thread whose sessions have one intra-op thread per core;
 *   both:       onnx, a worker thread per core, each session an intra-op thread per core.
 * Prints snapshots/s, detection recall and where a snapshot's time goes for each, and how far each
 * setup's embeddings are from the first setup's for the same faces.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { BackendName } from '../src/engine/tf-backend.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import type { OnnxThreading } from '../src/engine/onnx/onnx-runtime.js';
import type { Box } from '../src/engine/types.js';
import { forEachConcurrent } from '../src/util/for-each-concurrent.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';
import type { NightTruth } from './night/build-night.js';
import { nightMetrics, pairDetections } from './night/night-metrics.js';
import { StageProfile } from './stage-profile.js';

const cores = os.availableParallelism();
const SETUPS: Record<string, { backend: BackendName; threads: number; onnxThreading?: OnnxThreading }> = {
  wasm: { backend: 'wasm', threads: cores },
  'per-thread': { backend: 'onnx', threads: cores, onnxThreading: { mode: 'per-thread' } },
  'intra-op': { backend: 'onnx', threads: 1, onnxThreading: { mode: 'intra-op', threads: cores } },
  both: { backend: 'onnx', threads: cores, onnxThreading: { mode: 'intra-op', threads: cores } },
};

const options = optionsOrExit('onnx-sessions-bench', () =>
  parseOptions(
    {
      n: { type: 'string', default: '40' },
      night: { type: 'string', default: 'reports/night' },
      setups: { type: 'string', default: 'wasm,per-thread,intra-op' },
    },
    z.object({
      n: integer(1),
      night: z.string().min(1),
      setups: z
        .string()
        .transform((s) => s.split(',').map((x) => x.trim()))
        .pipe(z.array(z.enum(Object.keys(SETUPS) as [string, ...string[]])).min(1)),
    }),
  ),
);
const truthFile = path.resolve(options.night, 'truth.json');
const full = JSON.parse(
  await readFile(truthFile, 'utf8').catch(() => {
    console.error(`skipped: no night at ${truthFile} (build it with bench:identify or bench/night/build-night.ts)`);
    process.exit(0);
  }),
) as NightTruth;
const truth: NightTruth = { ...full, snapshots: full.snapshots.slice(0, options.n) };
const file = (key: string) => path.resolve(options.night, 'night', key);

type Faces = Array<{ box: Box; embedding: Float32Array }>;
const runs: Array<{ label: string; perSecond: number; recall: number; faces: Map<string, Faces> }> = [];
for (const label of options.setups) {
  const setup = SETUPS[label]!;
  const engine = await FaceEngine.start(setup);
  const concurrency = 2 * setup.threads;
  // Warm-up (first runs allocate and compile), not timed.
  await Promise.all(truth.snapshots.slice(0, concurrency).map((s) => engine.analyze(file(s.key))));
  const profile = new StageProfile();
  const found = new Map<string, Faces>();
  const started = performance.now();
  await forEachConcurrent(truth.snapshots, concurrency, async ({ key }) => {
    const { faces, timings } = await engine.analyze(file(key));
    profile.add(timings);
    found.set(
      key,
      faces.map((f) => ({ box: f.box, embedding: f.embedding })),
    );
  });
  const seconds = (performance.now() - started) / 1000;
  await engine.close();
  const metrics = nightMetrics(
    truth,
    [...found.entries()].map(([key, faces]) => ({ key, faces: faces.map((f) => ({ box: f.box, personId: null })) })),
  );
  const perSecond = truth.snapshots.length / seconds;
  runs.push({ label, perSecond, recall: metrics.detectionRecall, faces: found });
  console.log(
    `${label} (${engine.backend}, ${setup.threads} worker thread(s)${setup.onnxThreading?.mode === 'intra-op' ? `, intra-op ${setup.onnxThreading.threads}` : ''}): ` +
      `${perSecond.toFixed(3)} snapshots/s (${seconds.toFixed(1)} s), detection recall ${(100 * metrics.detectionRecall).toFixed(1)}% (${metrics.found}/${metrics.truthFaces}), false detections ${metrics.falseDetections}`,
  );
  console.log(profile.table(label));
}

// The same face in two setups: paired by box (IoU >= 0.5); the Euclidean distance of its embeddings.
const [first, ...others] = runs;
const agreement: Record<string, { faces: number; maxDistance: number; meanDistance: number }> = {};
for (const other of others) {
  const distances: number[] = [];
  for (const [key, faces] of first!.faces) {
    const theirs = other.faces.get(key) ?? [];
    const pairs = pairDetections(
      faces.map((f) => f.box),
      theirs.map((f) => f.box),
      0.5,
    );
    pairs.forEach((t, d) => {
      if (t === -1) return;
      const a = faces[t]!.embedding;
      const b = theirs[d]!.embedding;
      distances.push(Math.hypot(...a.map((v, i) => v - b[i]!)));
    });
  }
  const max = Math.max(0, ...distances);
  const mean = distances.reduce((s, d) => s + d, 0) / Math.max(1, distances.length);
  agreement[other.label] = { faces: distances.length, maxDistance: max, meanDistance: mean };
  console.log(
    `embeddings of ${other.label} against ${first!.label}, same faces (${distances.length}): Euclidean distance max ${max.toExponential(2)}, mean ${mean.toExponential(2)} (the 1:1 threshold is 0.65)`,
  );
}
console.log(
  JSON.stringify({
    snapshots: truth.snapshots.length,
    setups: runs.map((r) => ({ setup: r.label, snapshotsPerSecond: r.perSecond, detectionRecall: r.recall })),
    agreement,
  }),
);
