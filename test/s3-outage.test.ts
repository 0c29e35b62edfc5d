/**
 * The S3 server stopped for 30 s in the middle of an enrollment, and again in the middle of a
 * night, then started again on the same address and data: no image lost, no gallery record or
 * result duplicated, the retries visible in the workers' job logs. Real processes (`facepipe serve`,
 * `facepipe worker`), real Redis, real models, a real S3 protocol server (s3rver).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AppConfig, loadAppConfig } from '../src/config/app-config.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { MatchStore } from '../src/matches/match-store.js';
import { runEnroll } from '../src/producers/enroll-run.js';
import { runIdentify } from '../src/producers/identify-run.js';
import { changeLogKey, matchKeyPrefix, QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { ResultStore } from '../src/results/result-store.js';
import { listAll } from '../src/storage/list-all.js';
import { S3Storage } from '../src/storage/s3-storage.js';
import { type CliProcess, startCli, waitFor } from './support/cli-process.js';
import { freePort } from './support/redis-process.js';
import { assertValidResult } from './support/result-schema.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { faceImage } from './support/sample-faces.js';

const OUTAGE_MS = 30_000;
const PERSONS = ['A', 'B', 'C', 'D'] as const;
const bucket = `facepipe-outage-${randomBytes(4).toString('hex')}`;

let s3: S3TestServer;
let s3Port: number;
let s3Directory: string;
let env: Record<string, string>;
let config: AppConfig;
let storage: S3Storage;
let inputs: S3Storage;
let redis: Redis;
let serve: CliProcess;
let worker: CliProcess;
/** Every line the worker logged (startCli keeps only the tail). */
const workerLog: string[] = [];

const t0 = Date.now();
/** What happened when, printed with the logs when a wait times out. */
const timeline: string[] = [];
const note = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);

/** waitFor, noting the wait in the timeline; on a timeout, prints the timeline and the processes' logs. */
async function step<T>(what: string, check: () => Promise<T | undefined>, timeoutMs?: number, everyMs?: number) {
  note(`waiting: ${what}`);
  try {
    const value = await waitFor(what, check, timeoutMs, everyMs);
    note(`done: ${what}`);
    return value;
  } catch (err) {
    note(String(err));
    process.stderr.write(
      `${timeline.join('\n')}\nworker log:\n${workerLog.slice(-30).join('\n')}\n` +
        `service log:\n${serve.stderr().slice(-3000)}\n`,
    );
    throw err;
  }
}

async function stopS3For(ms: number): Promise<void> {
  note('S3 stopped');
  await s3.stop();
  await new Promise((resolve) => setTimeout(resolve, ms));
  s3 = await startS3Server([bucket], { port: s3Port, directory: s3Directory });
  note('S3 started again');
}

/** Job-failure lines the worker logged for a queue: one per failed attempt. */
function failedAttempts(queue: string): { jobId: string; attempts: number; err: string }[] {
  return workerLog
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; queue?: string; jobId: string; attempts: number; err: string })
    .filter((entry) => entry.msg === 'job failed' && entry.queue === queue);
}

async function getJson<T>(pathname: string): Promise<T> {
  const response = await fetch(`${config.indexUrl}${pathname}`);
  if (!response.ok) throw new Error(`${pathname}: ${response.status}`);
  return (await response.json()) as T;
}

beforeAll(async () => {
  s3Directory = await mkdtemp(path.join(tmpdir(), 'facepipe-outage-s3-'));
  s3 = await startS3Server([bucket], { directory: s3Directory });
  s3Port = Number(new URL(s3.endpoint).port);
  env = {
    FACEPIPE_STORAGE: `s3://${bucket}/deployment`,
    FACEPIPE_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: 'us-east-1',
    FACEPIPE_QUEUE_PREFIX: `fptest-${randomBytes(4).toString('hex')}`,
    FACEPIPE_INDEX_URL: `http://127.0.0.1:${await freePort()}`,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  config = loadAppConfig({}, env);
  storage = new S3Storage(env.FACEPIPE_STORAGE);
  inputs = new S3Storage(`s3://${bucket}/inputs`);
  redis = new Redis(config.redisUrl);

  // The archive: four persons, two photos each (a crop of a demo sample, and another: mirrored, brighter).
  for (const person of PERSONS) {
    await inputs.put(`archive/${person}/1.jpg`, await (await faceImage(person, 0.5)).jpeg().toBuffer());
    await inputs.put(`archive/${person}/2.jpg`, await (await faceImage(person, 0.4, true)).jpeg().toBuffer());
  }
  // The night: four snapshots of people of the archive and a blank frame.
  for (const [i, person] of PERSONS.entries())
    await inputs.put(
      `night/cam-1/0${i + 1}00.jpg`,
      await (await faceImage(person, 1, true)).jpeg({ quality: 70 }).toBuffer(),
    );
  await inputs.put(
    'night/cam-1/0500.jpg',
    await sharp({ create: { width: 320, height: 240, channels: 3, background: '#556677' } })
      .jpeg()
      .toBuffer(),
  );

  serve = startCli(['--threads', '1', 'serve'], env);
  worker = startCli(
    ['--threads', '1', 'worker', '--queues', 'enroll,identify', '--concurrency', '1', '--lock-duration', '10000'],
    { ...env, FACEPIPE_LOG_FORMAT: 'json' },
  );
  let partial = '';
  worker.child.stderr!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    workerLog.push(...lines);
  });
  await step(
    'index service ready',
    async () => ((await getJson<{ status: string }>('/readyz')).status === 'ok' ? true : undefined),
    90_000,
  );
}, 120_000);

afterAll(async () => {
  for (const child of [worker, serve])
    if (child && child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
  for (const name of [QUEUE_NAMES.enroll, QUEUE_NAMES.identify]) {
    const queue = new Queue(name, queueConnectionOptions(config));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  if (redis) {
    await redis.del(changeLogKey(config, FACE_MODEL.id));
    const leftovers = await redis.keys(`${config.queuePrefix}:*`);
    if (leftovers.length > 0) await redis.del(...leftovers);
    redis.disconnect();
  }
  storage?.destroy();
  inputs?.destroy();
  vi.unstubAllEnvs();
  await s3?.stop();
  if (s3Directory) await rm(s3Directory, { recursive: true, force: true });
});

describe('the S3 server stopped for 30 s', () => {
  it('mid-enrollment: every image enrolled exactly once, retries in the job log', async () => {
    const queue = new Queue(QUEUE_NAMES.enroll, queueConnectionOptions(config));
    try {
      // One image per job, so that jobs are waiting when S3 goes away.
      const enqueued = await runEnroll(config, { source: `s3://${bucket}/inputs/archive`, chunkSize: 1 });
      expect(enqueued).toMatchObject({ images: 8, enqueued: 8, jobs: 8 });
      await step(
        'two enroll jobs done',
        async () => ((await queue.getJobCounts('completed')).completed >= 2 ? true : undefined),
        60_000,
        50,
      );
      const before = await queue.getJobCounts('completed');
      expect(before.completed).toBeLessThan(5);
      await stopS3For(OUTAGE_MS);

      await step(
        'all 8 enroll jobs completed',
        async () => {
          const counts = await queue.getJobCounts('completed', 'failed');
          if (counts.failed > 0) throw new Error(`${counts.failed} enroll job(s) failed for good`);
          return counts.completed === 8 ? true : undefined;
        },
        75_000,
      );
      expect(await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed')).toEqual({
        completed: 8,
        failed: 0,
        active: 0,
        waiting: 0,
        delayed: 0,
      });

      // No image lost, none twice: one record per image, one line per record in the segments.
      const gallery = new GalleryStore(storage, FACE_MODEL.id);
      const records = await gallery.readAll();
      expect(records.map((r) => r.sourceKey).sort()).toEqual(
        PERSONS.flatMap((person) => [`${person}/1.jpg`, `${person}/2.jpg`]),
      );
      expect(await gallery.readFailures()).toEqual([]);
      let lines = 0;
      for await (const { key } of listAll(storage, `facepipe/gallery/${encodeURIComponent(FACE_MODEL.id)}/segments/`))
        lines += Buffer.from(await storage.get(key))
          .toString('utf8')
          .trim()
          .split('\n').length;
      expect(lines).toBe(8);

      // The retries: jobs that completed after failing attempts, each attempt logged by the worker.
      const jobs = await queue.getJobs(['completed']);
      const retried = jobs.filter((job) => job.attemptsMade > 1);
      expect(retried.length).toBeGreaterThan(0);
      const logged = failedAttempts(QUEUE_NAMES.enroll);
      expect(logged.length).toBeGreaterThanOrEqual(retried.length);
      expect(new Set(logged.map((entry) => entry.jobId))).toEqual(new Set(retried.map((job) => job.id)));

      // The index service caught up with every face once S3 was back.
      const persons = await step(
        'index service holds the 8 faces',
        async () => {
          const body = await getJson<{ persons: number; faces: number }>('/v1/persons');
          return body.faces === 8 ? body : undefined;
        },
        30_000,
      );
      expect(persons.persons).toBe(4);
    } finally {
      await queue.close();
    }
  }, 120_000);

  it('mid-night: every snapshot ends with one result, no sighting twice, retries in the job log', async () => {
    const queue = new Queue(QUEUE_NAMES.identify, queueConnectionOptions(config));
    try {
      const report = await runIdentify(config, { source: `s3://${bucket}/inputs/night`, run: 'night-1', chunkSize: 1 });
      expect(report).toMatchObject({ snapshots: 5, enqueued: 5 });
      await step(
        'two identify jobs done',
        async () => ((await queue.getJobCounts('completed')).completed >= 2 ? true : undefined),
        60_000,
        50,
      );
      expect((await queue.getJobCounts('completed')).completed).toBeLessThan(5);
      await stopS3For(OUTAGE_MS);

      await step(
        'all 5 identify jobs completed',
        async () => {
          const counts = await queue.getJobCounts('completed', 'failed');
          if (counts.failed > 0) throw new Error(`${counts.failed} identify job(s) failed for good`);
          return counts.completed === 5 ? true : undefined;
        },
        75_000,
      );

      // Every snapshot has one result, identified (no SOURCE_UNAVAILABLE or INDEX_UNAVAILABLE).
      const results = new ResultStore(storage);
      const keys: string[] = [];
      let named = 0;
      for await (const { resultKey, result } of results.read('night-1')) {
        assertValidResult(result, resultKey);
        expect(result.error, resultKey).toBeNull();
        keys.push(result.input.key);
        named += result.faces.filter((face) => face.personId !== null).length;
      }
      expect(keys.sort()).toEqual(Array.from({ length: 5 }, (_, i) => `cam-1/0${i + 1}00.jpg`));

      // Sightings: as many as named faces in the results, none recorded twice by a retried job.
      const matches = new MatchStore(redis, matchKeyPrefix(config));
      let sightings = 0;
      for (const person of PERSONS) sightings += (await matches.query(person)).total;
      expect(named).toBeGreaterThan(0);
      expect(sightings).toBe(named);

      const jobs = await queue.getJobs(['completed']);
      const retried = jobs.filter((job) => job.attemptsMade > 1);
      expect(retried.length).toBeGreaterThan(0);
      const logged = failedAttempts(QUEUE_NAMES.identify);
      expect(new Set(logged.map((entry) => entry.jobId))).toEqual(new Set(retried.map((job) => job.id)));
    } finally {
      await queue.close();
    }
  }, 120_000);
});
