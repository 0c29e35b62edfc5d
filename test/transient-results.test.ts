/**
 * A transient error never counts as done (issue 21, section 3): snapshots whose result records an
 * outage of the index service (INDEX_UNAVAILABLE) are identified again by a re-run of the same run
 * and by the next run of the source; a run holding them is not complete. Real Redis, real models,
 * the real index service in process; the outage is a worker pointed at a port nobody listens on.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig, type AppConfig } from '../src/config/app-config.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { runEnroll, type EnrollRunSummary } from '../src/producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../src/producers/identify-run.js';
import { RunStore } from '../src/producers/run-store.js';
import { QUEUE_NAMES } from '../src/queue/queue-names.js';
import { ResultStore } from '../src/results/result-store.js';
import type { ResultJson } from '../src/results/result-types.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { startWorkers, type RunningWorkers } from '../src/workers/worker-process.js';
import { startTestPipeline, type TestPipeline } from './support/pipeline.js';
import { assertValidResult } from './support/result-schema.js';
import { faceImage } from './support/sample-faces.js';

let dir: string;
let config: AppConfig;
let engine: FaceEngine;
let pipeline: TestPipeline;

/** Identify workers whose index service is down for good (nothing listens on port 1), no wait. */
async function workersWithoutIndex(): Promise<RunningWorkers> {
  return startWorkers({ ...config, indexUrl: 'http://127.0.0.1:1', indexWaitMs: 0 }, engine, [QUEUE_NAMES.identify], {
    concurrency: 2,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
  });
}

async function results(run: string): Promise<Map<string, ResultJson>> {
  const store = new ResultStore(new FolderStorage(config.storage));
  const byKey = new Map<string, ResultJson>();
  for await (const { resultKey, result } of store.read(run)) {
    assertValidResult(result, resultKey);
    byKey.set(result.input.key, result);
  }
  return byKey;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-transient-'));
  for (const person of ['A', 'B'] as const) {
    await mkdir(path.join(dir, 'gallery', person), { recursive: true });
    await (await faceImage(person, 0.5)).jpeg().toFile(path.join(dir, 'gallery', person, '1.jpg'));
  }
  await mkdir(path.join(dir, 'night', 'cam-1'), { recursive: true });
  await (await faceImage('A', 1, true)).jpeg({ quality: 70 }).toFile(path.join(dir, 'night', 'cam-1', '0100.jpg'));
  await (await faceImage('B', 1, true)).jpeg({ quality: 70 }).toFile(path.join(dir, 'night', 'cam-1', '0200.jpg'));

  config = loadAppConfig({ storage: path.join(dir, 'data'), queuePrefix: `fptest-${randomBytes(4).toString('hex')}` });
  engine = await FaceEngine.start({ threads: 1 });
  pipeline = await startTestPipeline(config, engine);
  config = pipeline.config;
  const enrolled = (await runEnroll(config, { source: path.join(dir, 'gallery'), wait: true })) as EnrollRunSummary;
  expect(enrolled).toMatchObject({ images: 2, enrolled: 2 });
  while (pipeline.index.service.current.size < 2) await new Promise((resolve) => setTimeout(resolve, 50));
  // The pipeline's own identify workers stop: each part of the test chooses who identifies.
  await pipeline.workers.close();
}, 120_000);

afterAll(async () => {
  await pipeline?.close();
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a transient error never counts as done', () => {
  it('a re-run of the run and the next run identify the snapshots an outage left, and the run is complete only then', async () => {
    const source = path.join(dir, 'night');
    const runs = new RunStore(new FolderStorage(config.storage));

    // The outage outlasts the job's attempts (one attempt: its last): results record INDEX_UNAVAILABLE.
    const down = await workersWithoutIndex();
    let first: IdentifyRunSummary;
    try {
      first = (await runIdentify(config, {
        source,
        run: 'night-1',
        wait: true,
        jobOptions: { attempts: 1 },
      })) as IdentifyRunSummary;
    } finally {
      await down.close();
    }
    expect(first).toMatchObject({ snapshots: 2, failed: 2, errors: { INDEX_UNAVAILABLE: 2 } });
    expect(first.complete).toBe(false);
    expect(first.pending).toBe(2);
    // The operator sees what happened: one valid result file per snapshot, with the outage's code.
    const outage = await results('night-1');
    expect([...outage.values()].map((r) => r.error?.code)).toEqual(['INDEX_UNAVAILABLE', 'INDEX_UNAVAILABLE']);
    expect((await runs.get('night-1'))?.completedAt).toBeUndefined();

    // The next run of the source (as the schedule starts one) takes them again: the outage's run set no watermark.
    const up = await startWorkers(config, engine, [QUEUE_NAMES.identify], {
      concurrency: 2,
      lockDurationMs: 30_000,
      stalledIntervalMs: 30_000,
    });
    try {
      const next = (await runIdentify(config, { source, run: 'night-2', wait: true })) as IdentifyRunSummary;
      expect(next).toMatchObject({ since: null, snapshots: 2, failed: 0, identified: 2, complete: true, pending: 0 });

      // A re-run of the outage's run identifies them again, overwriting the outage's files.
      const rerun = (await runIdentify(config, { source, run: 'night-1', wait: true })) as IdentifyRunSummary;
      expect(rerun).toMatchObject({ snapshots: 2, failed: 0, identified: 2, errors: {}, complete: true, pending: 0 });
      const fixed = await results('night-1');
      expect([...fixed.values()].map((r) => [r.error, r.faces.map((f) => f.personId)])).toEqual([
        [null, ['A']],
        [null, ['B']],
      ]);
      expect((await runs.get('night-1'))?.completedAt).toBeDefined();

      // Done now: a third re-run enqueues nothing.
      const again = await runIdentify(config, { source, run: 'night-1' });
      expect(again).toMatchObject({ alreadyDone: 2, enqueued: 0 });
    } finally {
      await up.close();
    }
  }, 120_000);
});
