/**
 * bench:enroll — the cost of the queue. The same LFW images are enrolled twice in one run:
 *   1. through the whole pipeline as `facepipe up` runs it: producer -> BullMQ on Redis -> worker
 *      -> gallery -> change log -> index service (until the index holds every face);
 *   2. through the engine alone (decode, detect, embed the largest face; nothing stored).
 * Both on the same engine settings. Prints images/s of each and the ratio pipeline / engine
 * (the issue asks >= 0.9: the queue costs at most a tenth).
 *
 *   npm run bench:enroll                 # all of ../shared/datasets/lfw-dev (6,922 images; long)
 *   npm run bench:enroll -- --n 600      # 600 images spread over the people
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadAppConfig } from '../src/config/app-config.js';
import { loadEngineConfig } from '../src/config/engine-config.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { startIndexService } from '../src/index/index-service-runtime.js';
import { runEnroll, type EnrollRunSummary } from '../src/producers/enroll-run.js';
import { changeLogKey, QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { forEachConcurrent } from '../src/util/for-each-concurrent.js';
import { DEFAULT_QUEUE_WORKER_OPTIONS } from '../src/workers/queue-worker-options.js';
import { startWorkers } from '../src/workers/worker-process.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';
import { LFW_DIR, lfwSample } from './lfw-sample.js';

const { n } = optionsOrExit('bench:enroll', () =>
  parseOptions({ n: { type: 'string' } }, z.object({ n: integer(1).optional() })),
);
const files = lfwSample(n ?? 1e9);

const dir = await mkdtemp(path.join(tmpdir(), 'facepipe-bench-enroll-'));
// The pipeline lists a source in the <person>/<image> layout: the whole LFW folder, or a copy of the sample.
let source = LFW_DIR;
if (Number.isFinite(n)) {
  source = path.join(dir, 'source');
  for (const file of files) {
    const target = path.join(source, path.basename(path.dirname(file)), path.basename(file));
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(file, target);
  }
}

const config = loadAppConfig({
  storage: path.join(dir, 'data'),
  queuePrefix: `bench-${randomBytes(4).toString('hex')}`,
  indexUrl: 'http://127.0.0.1:0',
});
const engineOptions = loadEngineConfig();
const engine = await FaceEngine.start(engineOptions);
const concurrency = 2 * engineOptions.threads;
console.log(`images: ${files.length}, engine: ${engine.backend}, ${engineOptions.threads} threads`);

// Warm-up (wasm kernels compile on first use), so that neither run pays it.
await Promise.all(
  files.slice(0, 2 * concurrency).map((file) => engine.analyze(file, { largestOnly: true }).catch(() => undefined)),
);

// 1. The pipeline, as `facepipe up` runs it: two jobs of 8 images at once keep the engine as busy as (2).
const workerConcurrency = 2;
const index = await startIndexService(config, { port: 0, host: '127.0.0.1' });
const workers = await startWorkers(config, engine, [QUEUE_NAMES.enroll], {
  ...DEFAULT_QUEUE_WORKER_OPTIONS,
  concurrency: workerConcurrency,
});
let started = performance.now();
const summary = (await runEnroll(config, { source, wait: true })) as EnrollRunSummary;
while (index.service.current.size < summary.enrolled) await new Promise((resolve) => setTimeout(resolve, 50));
const pipelineSeconds = (performance.now() - started) / 1000;
await workers.close();
await index.close();
console.log(
  `pipeline (producer, Redis, worker with ${workerConcurrency} jobs at once, gallery, index): ${(files.length / pipelineSeconds).toFixed(2)} images/s, ${summary.enrolled} enrolled, ${summary.failed} failed ${JSON.stringify(summary.errors)}`,
);

// 2. The engine alone, same images, same settings.
started = performance.now();
let engineFaces = 0;
await forEachConcurrent(files, concurrency, async (file) => {
  try {
    if ((await engine.analyze(file, { largestOnly: true })).faces.length > 0) engineFaces++;
  } catch {
    // a bad image costs what it costs in the pipeline too
  }
});
const engineSeconds = (performance.now() - started) / 1000;
console.log(
  `engine alone (${concurrency} images at once): ${(files.length / engineSeconds).toFixed(2)} images/s, ${engineFaces} faces`,
);
await engine.close();

const pipelineRate = files.length / pipelineSeconds;
const engineRate = files.length / engineSeconds;
console.log(`ratio (pipeline / engine): ${(pipelineRate / engineRate).toFixed(3)}`);

const queue = new Queue(QUEUE_NAMES.enroll, queueConnectionOptions(config));
await queue.obliterate({ force: true });
await queue.close();
const redis = new Redis(config.redisUrl);
await redis.del(changeLogKey(config, FACE_MODEL.id));
redis.disconnect();
await rm(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    images: files.length,
    pipelineImagesPerSecond: Number(pipelineRate.toFixed(3)),
    engineImagesPerSecond: Number(engineRate.toFixed(3)),
    ratio: Number((pipelineRate / engineRate).toFixed(3)),
    enrolled: summary.enrolled,
    failed: summary.failed,
  }),
);
