/**
 * kill -9 of a worker and, separately, of the index service in the middle of an enrollment: after
 * restarts every image is enrolled exactly once, and the gallery, the index and the person counts
 * agree. Real processes, real Redis, real models, folder storage.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig, type AppConfig } from '../src/config/app-config.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { runEnroll } from '../src/producers/enroll-run.js';
import { changeLogKey, QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { lastJson, ROOT, runCli, startCli, waitFor, type CliProcess } from './support/cli-process.js';

const SAMPLES = path.join(ROOT, 'node_modules/@vladmandic/face-api/demo');
const PERSONS = ['ann', 'ben', 'cat', 'dan', 'eve', 'fay'];

let dir: string;
let config: AppConfig;
let env: Record<string, string>;
let queue: Queue;
const children: CliProcess[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function getJson<T>(pathname: string): Promise<T> {
  const response = await fetch(`${config.indexUrl}${pathname}`);
  if (!response.ok) throw new Error(`${pathname}: ${response.status}`);
  return (await response.json()) as T;
}

function start(args: string[]): CliProcess {
  const child = startCli(['--threads', '1', ...args], env);
  children.push(child);
  return child;
}

async function kill9(process: CliProcess): Promise<void> {
  process.child.kill('SIGKILL');
  expect(await process.exited).toBe('SIGKILL');
}

const serveArgs = () => ['serve', '--snapshot-changes', '1'];
const workerArgs = ['worker', '--concurrency', '1', '--lock-duration', '3000', '--stalled-interval', '1000'];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-crash-'));
  // Six persons, two photos each: a demo sample and its mirror image (other bytes, other etag).
  for (const [i, person] of PERSONS.entries()) {
    await mkdir(path.join(dir, 'archive', person), { recursive: true });
    const sample = path.join(SAMPLES, `sample${i + 1}.jpg`);
    await sharp(sample).toFile(path.join(dir, 'archive', person, '1.jpg'));
    await sharp(sample)
      .flop()
      .toFile(path.join(dir, 'archive', person, '2.jpg'));
  }
  const port = await freePort();
  env = {
    FACEPIPE_STORAGE: path.join(dir, 'data'),
    FACEPIPE_QUEUE_PREFIX: `fptest-${randomBytes(4).toString('hex')}`,
    FACEPIPE_INDEX_URL: `http://127.0.0.1:${port}`,
  };
  config = loadAppConfig({}, env);
  queue = new Queue(QUEUE_NAMES.enroll, queueConnectionOptions(config));
});

afterAll(async () => {
  for (const child of children)
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  const redis = new Redis(config.redisUrl);
  await redis.del(changeLogKey(config, FACE_MODEL.id));
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

describe('enrollment survives kill -9', () => {
  it('of a worker and of the index service: every image enrolled exactly once, gallery and index agree', async () => {
    const index1 = start(serveArgs());
    await waitFor('index service ready', async () =>
      (await getJson<{ status: string }>('/readyz')).status === 'ok' ? true : undefined,
    );
    const worker1 = start(workerArgs);

    // One image per job, so the queue holds work at every kill.
    const enqueued = await runEnroll(config, { source: path.join(dir, 'archive'), chunkSize: 1 });
    expect(enqueued).toMatchObject({ images: 12, enqueued: 12, jobs: 12 });

    // Kill the worker in the middle of a job, with jobs done before it.
    await waitFor('two jobs done and one running', async () => {
      const counts = await queue.getJobCounts('completed', 'active');
      return counts.completed >= 2 && counts.active === 1 ? true : undefined;
    });
    await kill9(worker1);
    const afterWorkerKill = await queue.getJobCounts('completed', 'active', 'failed');
    expect(afterWorkerKill.completed).toBeLessThan(12);
    const worker2 = start(workerArgs);

    // Kill the index service after it snapshotted some faces, while jobs still come in.
    await waitFor('index holds 4 faces, enrollment not finished', async () => {
      const { faces } = await getJson<{ faces: number }>('/v1/persons');
      const { completed } = await queue.getJobCounts('completed');
      return faces >= 4 && completed < 12 ? true : undefined;
    });
    await kill9(index1);
    const index2 = start(serveArgs());

    await waitFor(
      'all 12 jobs completed',
      async () => ((await queue.getJobCounts('completed')).completed === 12 ? true : undefined),
      120_000,
    );
    const counts = await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed');
    expect(counts).toEqual({ completed: 12, failed: 0, active: 0, waiting: 0, delayed: 0 });
    // The job the killed worker held was taken over after its lock expired (it stalled once).
    const jobs = await queue.getJobs(['completed']);
    expect(jobs.reduce((sum, job) => sum + job.stalledCounter, 0)).toBeGreaterThanOrEqual(1);

    // The gallery: one record per image, and no duplicate lines hidden in rewritten segments.
    const gallery = new GalleryStore(new FolderStorage(config.storage), FACE_MODEL.id);
    const records = await gallery.readAll();
    expect(records).toHaveLength(12);
    expect(new Set(records.map((r) => r.sourceKey)).size).toBe(12);
    expect(new Set(records.map((r) => r.personId))).toEqual(new Set(PERSONS));
    const segmentsDir = path.join(config.storage, 'facepipe/gallery', encodeURIComponent(FACE_MODEL.id), 'segments');
    let lines = 0;
    for (const file of await readdir(segmentsDir))
      lines += (await readFile(path.join(segmentsDir, file), 'utf8')).trim().split('\n').length;
    expect(lines).toBe(12);
    expect(await gallery.readFailures()).toEqual([]);

    // The restarted index service: restored from its snapshot, caught up from the change log.
    const persons = await waitFor('index service caught up', async () => {
      const body = await getJson<{ persons: number; faces: number; items: { personId: string; faces: number }[] }>(
        '/v1/persons',
      );
      return body.faces === 12 ? body : undefined;
    });
    expect(persons.persons).toBe(6);
    expect(persons.items).toEqual(PERSONS.map((personId) => ({ personId, faces: 2 })));
    const indexed = new Set<string>();
    for (const personId of PERSONS)
      for (const faceId of (await getJson<{ faces: string[] }>(`/v1/persons/${personId}`)).faces) indexed.add(faceId);
    expect(indexed).toEqual(new Set(records.map((r) => r.faceId)));
    const status = await getJson<{ loadedFrom: string }>('/v1/index');
    expect(status.loadedFrom).toMatch(/^snapshot /);

    // Rebuild from the gallery with other parameters, through the CLI; then delete a person.
    const rebuilt = lastJson(await runCli(['index', 'rebuild', '--m', '8', '--json'], env));
    expect(rebuilt).toMatchObject({ faces: 12, persons: 6, m: 8, rebuild: { state: 'done' } });
    const deleted = await runCli(['persons', 'delete', 'fay', '--json'], env);
    expect(deleted.code).toBe(0);
    expect(lastJson(deleted)).toMatchObject({ personId: 'fay', removed: 2 });
    expect((await gallery.persons()).has('fay')).toBe(false);
    expect(await getJson('/v1/persons')).toMatchObject({ persons: 5, faces: 10 });

    // Graceful stops: SIGTERM finishes and exits 0.
    worker2.child.kill('SIGTERM');
    index2.child.kill('SIGTERM');
    expect(await worker2.exited).toBe(0);
    expect(await index2.exited).toBe(0);
  }, 240_000);
});
