/**
 * Redis restarted in the middle of a night, with and without its append-only file. With AOF the
 * run completes by itself once Redis is back; without it (Redis lost the queues, the change log and
 * the sightings) the operator's documented recovery (the same `identify --run` again, then
 * `matches rebuild`) restores the same state. Either way every snapshot ends with exactly one
 * result file and the sightings agree with the results. Real processes (`facepipe serve`,
 * `facepipe worker`), a redis-server of the test's own, real models, folder storage.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AppConfig, loadAppConfig } from '../src/config/app-config.js';
import { MatchStore } from '../src/matches/match-store.js';
import { runEnroll, type EnrollRunSummary } from '../src/producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../src/producers/identify-run.js';
import type { IdentifyEnqueueReport } from '../src/queue/jobs.js';
import { matchKeyPrefix, QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { ResultStore } from '../src/results/result-store.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { type CliProcess, lastJson, runCli, startCli, waitFor } from './support/cli-process.js';
import { freePort, type RedisTestServer, startRedisServer } from './support/redis-process.js';
import { assertValidResult } from './support/result-schema.js';
import { faceImage } from './support/sample-faces.js';

const PERSONS = ['A', 'B', 'C', 'D'] as const;
const SNAPSHOTS = 6;

let dir: string;
/** Input key -> persons named, as the run with AOF left them (the reference for the recovery). */
let namedWithAof: Record<string, (string | null)[]> | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-redis-restart-'));
  for (const person of PERSONS) {
    await mkdir(path.join(dir, 'archive', person), { recursive: true });
    await (await faceImage(person, 0.5)).jpeg().toFile(path.join(dir, 'archive', person, '1.jpg'));
  }
  const night = path.join(dir, 'night', 'cam-1');
  await mkdir(night, { recursive: true });
  for (let i = 0; i < SNAPSHOTS - 1; i++) {
    const person = PERSONS[i % PERSONS.length];
    await (await faceImage(person, 1, true)).jpeg({ quality: 70 }).toFile(path.join(night, `0${i + 1}00.jpg`));
  }
  await sharp({ create: { width: 320, height: 240, channels: 3, background: '#556677' } })
    .jpeg()
    .toFile(path.join(night, `0${SNAPSHOTS}00.jpg`));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** One deployment: its own Redis (AOF or not), storage, index service and worker. */
interface Deployment {
  redis: RedisTestServer;
  config: AppConfig;
  env: Record<string, string>;
  children: CliProcess[];
}
let current: Deployment | undefined;

afterEach(async () => {
  if (current === undefined) return;
  for (const child of current.children)
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
  await current.redis.stop();
  current = undefined;
});

async function deploy(appendOnly: boolean): Promise<Deployment> {
  const name = appendOnly ? 'aof' : 'no-aof';
  const redisDir = path.join(dir, `redis-${name}`);
  await mkdir(redisDir, { recursive: true });
  const redis = await startRedisServer({ dir: redisDir, appendOnly });
  const env = {
    REDIS_URL: redis.url,
    FACEPIPE_STORAGE: path.join(dir, `data-${name}`),
    FACEPIPE_QUEUE_PREFIX: `fptest-${randomBytes(4).toString('hex')}`,
    FACEPIPE_INDEX_URL: `http://127.0.0.1:${await freePort()}`,
  };
  const children = [
    startCli(['--threads', '1', 'serve'], env),
    startCli(
      [
        '--threads',
        '1',
        'worker',
        '--queues',
        'enroll,identify',
        '--concurrency',
        '1',
        '--lock-duration',
        '10000',
        '--stalled-interval',
        '5000',
      ],
      env,
    ),
  ];
  current = { redis, config: loadAppConfig({}, env), env, children };
  return current;
}

async function getJson<T>(config: AppConfig, pathname: string): Promise<T> {
  const response = await fetch(`${config.indexUrl}${pathname}`);
  if (!response.ok) throw new Error(`${pathname}: ${response.status}`);
  return (await response.json()) as T;
}

/** Every result of the run (valid against the schema), and the sightings per person. */
async function state(deployment: Deployment, run: string) {
  const results = new ResultStore(new FolderStorage(deployment.config.storage));
  const named: Record<string, (string | null)[]> = {};
  const errors: Record<string, string> = {};
  const seenInResults: Record<string, number> = {};
  for await (const { resultKey, result } of results.read(run)) {
    assertValidResult(result, resultKey);
    expect(named[result.input.key], `two results of ${result.input.key}`).toBeUndefined();
    named[result.input.key] = result.faces.map((face) => face.personId);
    if (result.error !== null) errors[result.input.key] = result.error.code;
    for (const face of result.faces)
      if (face.personId !== null) seenInResults[face.personId] = (seenInResults[face.personId] ?? 0) + 1;
  }
  const redis = new Redis(deployment.redis.url);
  try {
    const matches = new MatchStore(redis, matchKeyPrefix(deployment.config));
    const sightings: Record<string, number> = {};
    for (const person of PERSONS) {
      const { total } = await matches.query(person);
      if (total > 0) sightings[person] = total;
    }
    return { named, errors, seenInResults, sightings };
  } finally {
    redis.disconnect();
  }
}

/** Enrolls the archive, starts the night, and restarts Redis once two snapshots have their result. */
async function nightWithRestart(deployment: Deployment): Promise<void> {
  const { config } = deployment;
  await waitFor(
    'index service ready',
    async () => ((await getJson<{ status: string }>(config, '/readyz')).status === 'ok' ? true : undefined),
    90_000,
  );
  const enrolled = (await runEnroll(config, {
    source: path.join(dir, 'archive'),
    wait: true,
  })) as EnrollRunSummary;
  expect(enrolled).toMatchObject({ images: 4, enrolled: 4, persons: 4 });
  await waitFor('index holds the 4 faces', async () =>
    (await getJson<{ faces: number }>(config, '/v1/persons')).faces === 4 ? true : undefined,
  );

  const report = (await runIdentify(config, {
    source: path.join(dir, 'night'),
    run: 'night-1',
    chunkSize: 1,
  })) as IdentifyEnqueueReport;
  expect(report).toMatchObject({ snapshots: SNAPSHOTS, enqueued: SNAPSHOTS });
  const results = new ResultStore(new FolderStorage(config.storage));
  await waitFor(
    'two results written',
    async () => ((await results.doneInputKeys('night-1')).size >= 2 ? true : undefined),
    60_000,
    50,
  );
  expect((await results.doneInputKeys('night-1')).size).toBeLessThan(SNAPSHOTS);
  await deployment.redis.stop();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await deployment.redis.start();
}

describe('Redis restarted mid-night', () => {
  it('with its append-only file: the run completes by itself, one result per snapshot, sightings agree', async () => {
    const deployment = await deploy(true);
    await nightWithRestart(deployment);

    const queue = new Queue(QUEUE_NAMES.identify, queueConnectionOptions(deployment.config));
    try {
      await waitFor(
        `all ${SNAPSHOTS} identify jobs completed`,
        async () => {
          const counts = await queue.getJobCounts('completed', 'failed');
          if (counts.failed > 0) throw new Error(`${counts.failed} identify job(s) failed for good`);
          return counts.completed === SNAPSHOTS ? true : undefined;
        },
        60_000,
      );
    } finally {
      await queue.close();
    }
    const after = await state(deployment, 'night-1');
    expect(Object.keys(after.named).sort()).toEqual(
      Array.from({ length: SNAPSHOTS }, (_, i) => `cam-1/0${i + 1}00.jpg`),
    );
    expect(after.errors).toEqual({});
    expect(Object.keys(after.seenInResults).length).toBeGreaterThan(0);
    expect(after.sightings).toEqual(after.seenInResults);
    namedWithAof = after.named;

    // The same run again adds nothing: every snapshot is done.
    const again = (await runIdentify(deployment.config, {
      source: path.join(dir, 'night'),
      run: 'night-1',
    })) as IdentifyEnqueueReport;
    expect(again).toMatchObject({ snapshots: SNAPSHOTS, alreadyDone: SNAPSHOTS, enqueued: 0 });
  }, 120_000);

  it('without it: re-running the same --run and `matches rebuild` restore the same state', async () => {
    const deployment = await deploy(false);
    await nightWithRestart(deployment);

    // Redis came back empty: the queue forgot the run's jobs, the sightings recorded so far are gone.
    const redis = new Redis(deployment.redis.url);
    const keys = await redis.keys(`${deployment.config.queuePrefix}:*`);
    redis.disconnect();
    expect(keys.filter((key) => key.includes(':matches'))).toEqual([]);

    // The documented recovery: the same run again (enqueues the snapshots without a result) ...
    const rerun = (await runIdentify(deployment.config, {
      source: path.join(dir, 'night'),
      run: 'night-1',
      wait: true,
      chunkSize: 1,
    })) as IdentifyRunSummary;
    expect(rerun).toMatchObject({ run: 'night-1', snapshots: SNAPSHOTS, failed: 0 });
    // ... then the sightings from the result files.
    const rebuilt = await runCli(['matches', 'rebuild', '--json'], deployment.env);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(lastJson(rebuilt)).toMatchObject({ results: SNAPSHOTS, skipped: 0 });

    const after = await state(deployment, 'night-1');
    expect(Object.keys(after.named).sort()).toEqual(
      Array.from({ length: SNAPSHOTS }, (_, i) => `cam-1/0${i + 1}00.jpg`),
    );
    expect(after.errors).toEqual({});
    expect(after.sightings).toEqual(after.seenInResults);
    if (namedWithAof !== undefined) expect(after.named).toEqual(namedWithAof);
  }, 120_000);
});
