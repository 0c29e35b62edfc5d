/**
 * The index service down while identify jobs run (issue 21, section 2): a real `facepipe serve`
 * process killed and started again mid-run. The jobs wait for it (FACEPIPE_INDEX_WAIT_MS) and every
 * snapshot is identified, none written INDEX_UNAVAILABLE; a service down for longer than the wait
 * gives the documented error, INDEX_UNAVAILABLE, and a run that is not complete. Real Redis, real
 * models, folder storage; the windows are shortened by settings.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig, type AppConfig } from '../src/config/app-config.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { runEnroll, type EnrollRunSummary } from '../src/producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../src/producers/identify-run.js';
import { QUEUE_NAMES } from '../src/queue/queue-names.js';
import { startWorkers, type RunningWorkers } from '../src/workers/worker-process.js';
import { type CliProcess, startCli, waitFor } from './support/cli-process.js';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { changeLogKey, queueConnectionOptions } from '../src/queue/queue-names.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { ResultStore } from '../src/results/result-store.js';
import type { ResultJson } from '../src/results/result-types.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { faceImage } from './support/sample-faces.js';

let dir: string;
let config: AppConfig;
let env: Record<string, string>;
let engine: FaceEngine;
const children: CliProcess[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `facepipe serve` as its own process, once it answers /readyz. */
async function startIndex(): Promise<CliProcess> {
  const child = startCli(['--threads', '1', 'serve', '--snapshot-changes', '1'], env);
  children.push(child);
  await waitFor(
    `index service ready (${child.stderr().slice(-300)})`,
    async () => ((await fetch(`${config.indexUrl}/readyz`)).ok ? true : undefined),
    90_000,
  );
  return child;
}

async function kill9(index: CliProcess): Promise<void> {
  index.child.kill('SIGKILL');
  expect(await index.exited).toBe('SIGKILL');
}

function workers(indexWaitMs: number): Promise<RunningWorkers> {
  return startWorkers({ ...config, indexWaitMs }, engine, [QUEUE_NAMES.enroll, QUEUE_NAMES.identify], {
    concurrency: 2,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-index-restart-'));
  for (const person of ['A', 'B'] as const) {
    await mkdir(path.join(dir, 'gallery', person), { recursive: true });
    await (await faceImage(person, 0.5)).jpeg().toFile(path.join(dir, 'gallery', person, '1.jpg'));
  }
  for (const night of ['night-1', 'night-2']) {
    await mkdir(path.join(dir, night), { recursive: true });
    for (const [i, person] of (['A', 'B', 'A', 'B'] as const).entries())
      await (await faceImage(person, 1, true)).jpeg({ quality: 60 + i }).toFile(path.join(dir, night, `0${i}00.jpg`));
  }
  env = {
    FACEPIPE_STORAGE: path.join(dir, 'data'),
    FACEPIPE_QUEUE_PREFIX: `fptest-${randomBytes(4).toString('hex')}`,
    FACEPIPE_INDEX_URL: `http://127.0.0.1:${await freePort()}`,
  };
  config = loadAppConfig({}, env);
  engine = await FaceEngine.start({ threads: 1 });
}, 120_000);

afterAll(async () => {
  for (const child of children)
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
  for (const name of [QUEUE_NAMES.enroll, QUEUE_NAMES.identify]) {
    const queue = new Queue(name, queueConnectionOptions(config));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  const redis = new Redis(config.redisUrl);
  const keys = await redis.keys(`${config.queuePrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.del(changeLogKey(config, FACE_MODEL.id));
  redis.disconnect();
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the index service restarting while identify jobs run', () => {
  it('jobs wait for it and identify every snapshot; past the wait, INDEX_UNAVAILABLE and an incomplete run', async () => {
    let index = await startIndex();
    let running = await workers(90_000);
    try {
      const enrolled = (await runEnroll(config, { source: path.join(dir, 'gallery'), wait: true })) as EnrollRunSummary;
      expect(enrolled).toMatchObject({ images: 2, enrolled: 2 });
      await waitFor('the index holds both faces', async () => {
        const { faces } = (await (await fetch(`${config.indexUrl}/v1/persons`)).json()) as { faces: number };
        return faces === 2 ? true : undefined;
      });

      // The service goes down; the night's jobs start (one attempt each: without the wait, its last).
      await kill9(index);
      const source1 = path.join(dir, 'night-1');
      const enqueued = await runIdentify(config, {
        source: source1,
        run: 'r1',
        chunkSize: 2,
        jobOptions: { attempts: 1 },
      });
      expect(enqueued).toMatchObject({ snapshots: 4, enqueued: 4 });
      const identify = new Queue(QUEUE_NAMES.identify, queueConnectionOptions(config));
      try {
        await waitFor('both jobs active, waiting for the service', async () =>
          (await identify.getJobCounts('active')).active === 2 ? true : undefined,
        );
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        expect(await identify.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
        index = await startIndex();
        // The jobs themselves (not a re-run of the run) finish once the service is back.
        await waitFor('both jobs completed', async () =>
          (await identify.getJobCounts('completed')).completed === 2 ? true : undefined,
        );
      } finally {
        await identify.close();
      }
      const written = new ResultStore(new FolderStorage(config.storage));
      const r1Results: ResultJson[] = [];
      for await (const { result } of written.read('r1')) r1Results.push(result);
      expect(r1Results.map((r) => [r.input.key, r.error?.code ?? null, r.faces.map((f) => f.personId)])).toEqual([
        ['0000.jpg', null, ['A']],
        ['0100.jpg', null, ['B']],
        ['0200.jpg', null, ['A']],
        ['0300.jpg', null, ['B']],
      ]);
      const r1 = (await runIdentify(config, { source: source1, run: 'r1', wait: true })) as IdentifyRunSummary;
      expect(r1).toMatchObject({ snapshots: 4, failed: 0, errors: {}, identified: 4, complete: true, pending: 0 });

      // Down for longer than the workers wait: the documented error, and the run says it is not complete.
      await running.close();
      running = await workers(1_500);
      await kill9(index);
      const started = Date.now();
      const r2 = (await runIdentify(config, {
        source: path.join(dir, 'night-2'),
        run: 'r2',
        chunkSize: 2,
        wait: true,
        jobOptions: { attempts: 1 },
      })) as IdentifyRunSummary;
      expect(r2).toMatchObject({
        snapshots: 4,
        failed: 4,
        errors: { INDEX_UNAVAILABLE: 4 },
        complete: false,
        pending: 4,
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    } finally {
      await running.close();
    }
  }, 180_000);
});
