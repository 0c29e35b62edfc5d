import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { faceIdFor } from '../src/gallery/face-id.js';
import type { GalleryRecord } from '../src/gallery/gallery-record.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { EnrollProducer } from '../src/producers/enroll-producer.js';
import { listEnrollItems } from '../src/producers/enroll-items.js';
import { ManifestError } from '../src/producers/manifest-error.js';
import { parseManifest, readManifestFile } from '../src/producers/manifest.js';
import type { EnrollItem, EnrollJobData } from '../src/queue/jobs.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { canonicalStorageUrl } from '../src/storage/storage-url.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = randomBytes(4).toString('hex');
const model = FACE_MODEL.id;

let dir: string;
let source: FolderStorage;
const queues: Queue<EnrollJobData>[] = [];

function openQueue(prefix: string, storage: string): Queue<EnrollJobData> {
  const queue = new Queue<EnrollJobData>(
    QUEUE_NAMES.enroll,
    queueConnectionOptions({ redisUrl: REDIS_URL, queuePrefix: prefix, storage }),
  );
  queues.push(queue);
  return queue;
}

/** One deployment: its queue (own prefix) and its gallery (own storage folder). */
async function deployment(name: string, chunkSize = 2) {
  const storageUrl = path.join(dir, `storage-${name}`);
  const queue = openQueue(`fptest-${runId}-${name}`, storageUrl);
  const gallery = new GalleryStore(new FolderStorage(storageUrl), model);
  const producer = new EnrollProducer(queue, gallery, { chunkSize, model, storageUrl, sourceUrl: source.url });
  return { storageUrl, queue, gallery, producer };
}

async function totalJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

async function jobIds(queue: Queue): Promise<string[]> {
  return (await queue.getJobs()).map((job) => job.id!).sort();
}

function recordFor(item: EnrollItem): GalleryRecord {
  return {
    faceId: faceIdFor('file:///src', item.key, item.etag, model),
    personId: item.personId,
    source: canonicalStorageUrl(source.url),
    sourceKey: item.key,
    sourceEtag: item.etag,
    box: { x: 0, y: 0, width: 10, height: 10 },
    landmarks: [],
    score: 0.9,
    model,
    embedding: [0.1, 0.2],
    enrolledAt: new Date().toISOString(),
  };
}

async function put(key: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, 'source', key)), { recursive: true });
  await writeFile(path.join(dir, 'source', key), content);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-enroll-'));
  for (const key of ['p1/a.jpg', 'p1/b.jpg', 'p2/c.png', 'p3/d.jpeg', 'p3/e.jpg']) await put(key, `image ${key}`);
  await put('loose.jpg', 'x'); // not in a person folder
  await put('p2/sub/deep.jpg', 'x'); // too deep
  await put('p2/notes.txt', 'x'); // not an image
  source = new FolderStorage(path.join(dir, 'source'));
});

afterAll(async () => {
  for (const queue of queues) {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('listEnrollItems (folder layout)', () => {
  it('takes <personId>/<image> and reports the rest as skipped', async () => {
    const listing = await listEnrollItems(source);
    expect(listing.items.map((i) => [i.key, i.personId])).toEqual([
      ['p1/a.jpg', 'p1'],
      ['p1/b.jpg', 'p1'],
      ['p2/c.png', 'p2'],
      ['p3/d.jpeg', 'p3'],
      ['p3/e.jpg', 'p3'],
    ]);
    expect(listing.items.every((i) => i.etag !== '' && i.size > 0)).toBe(true);
    expect(listing.skipped.map((s) => s.key).sort()).toEqual(['loose.jpg', 'p2/notes.txt', 'p2/sub/deep.jpg']);
    expect(listing.skipped.find((s) => s.key === 'p2/sub/deep.jpg')!.reason).toMatch(/deeper/);
    expect(listing.missing).toEqual([]);
  });
});

describe('EnrollProducer against Redis', () => {
  it('enqueues once, re-enqueues changed photos, skips what the gallery holds, and keeps deployments apart', async () => {
    const a = await deployment('a');
    let items = (await listEnrollItems(source)).items;

    const first = await a.producer.enqueue(items);
    expect(first).toMatchObject({
      images: 5,
      alreadyEnrolled: 0,
      alreadyFailed: 0,
      alreadyQueued: 0,
      enqueued: 5,
      jobs: 3,
    });
    expect(await totalJobs(a.queue)).toBe(3);
    const ids = await jobIds(a.queue);
    for (const id of ids) expect(id).toMatch(/^enroll-[0-9a-f]{12}-[0-9a-f]{32}$/);
    const jobs = await a.queue.getJobs();
    expect(jobs.flatMap((job) => job.data.items.map((i) => i.key)).sort()).toEqual(items.map((i) => i.key));
    expect(jobs[0].opts.attempts).toBe(5);

    // The same command again: nothing new.
    const second = await a.producer.enqueue((await listEnrollItems(source)).items);
    expect(second).toMatchObject({ images: 5, alreadyQueued: 5, enqueued: 0, jobs: 0 });
    expect(await jobIds(a.queue)).toEqual(ids);

    // A changed photo: new etag, so its chunk is a new job holding the new version.
    await put('p1/a.jpg', 'a different photo of p1');
    items = (await listEnrollItems(source)).items;
    const changed = items.find((i) => i.key === 'p1/a.jpg')!;
    const third = await a.producer.enqueue(items);
    expect(third).toMatchObject({ images: 5, alreadyEnrolled: 0, jobs: 1 });
    const newIds = (await jobIds(a.queue)).filter((id) => !ids.includes(id));
    expect(newIds).toHaveLength(1);
    const newJob = (await a.queue.getJob(newIds[0]))!;
    expect(newJob.data.items).toContainEqual(changed);
    expect(newJob.data.model).toBe(model);

    // What the gallery holds is enrolled, whatever Redis says; the gallery decides.
    const enrolled = items.filter((i) => i.personId === 'p3');
    await a.gallery.append(enrolled.map(recordFor));
    const fourth = await a.producer.enqueue(items);
    expect(fourth.alreadyEnrolled).toBe(2);
    expect(fourth.enqueued + fourth.alreadyQueued).toBe(3);
    const allJobs = await a.queue.getJobs();
    const added = allJobs.filter((job) => !ids.includes(job.id!) && !newIds.includes(job.id!));
    for (const job of added) for (const item of job.data.items) expect(item.personId).not.toBe('p3');

    // A recorded permanent failure (e.g. no face) counts as done for that version of the image.
    const bad = items.find((i) => i.personId !== 'p3')!;
    await a.gallery.appendFailures([
      {
        source: canonicalStorageUrl(source.url),
        sourceKey: bad.key,
        sourceEtag: bad.etag,
        personId: bad.personId,
        code: 'NO_FACE',
        message: 'no face',
        failedAt: new Date().toISOString(),
      },
    ]);
    const fifth = await a.producer.enqueue(items);
    expect(fifth).toMatchObject({ alreadyEnrolled: 2, alreadyFailed: 1 });
    const countA = await totalJobs(a.queue);

    // A second deployment (other prefix, other storage) on the same Redis: its own jobs, all of them.
    const b = await deployment('b');
    const inB = await b.producer.enqueue(items);
    expect(inB).toMatchObject({
      images: 5,
      alreadyEnrolled: 0,
      alreadyFailed: 0,
      alreadyQueued: 0,
      enqueued: 5,
      jobs: 3,
    });
    expect(await totalJobs(b.queue)).toBe(3);
    expect(await totalJobs(a.queue)).toBe(countA);
    const idsA = new Set(await jobIds(a.queue));
    for (const id of await jobIds(b.queue)) expect(idsA.has(id)).toBe(false);

    // Same prefix, different storage: different BullMQ prefixes (so different queues), and even a
    // producer handed the same queue makes different job ids, so neither suppresses the other.
    const sameName = { redisUrl: REDIS_URL, queuePrefix: 'facepipe' };
    expect(queueConnectionOptions({ ...sameName, storage: path.join(dir, 'storage-c') }).prefix).not.toBe(
      queueConnectionOptions({ ...sameName, storage: a.storageUrl }).prefix,
    );
    const otherStorage = new EnrollProducer(
      a.queue,
      new GalleryStore(new FolderStorage(path.join(dir, 'storage-c')), model),
      {
        chunkSize: 2,
        model,
        storageUrl: path.join(dir, 'storage-c'),
        sourceUrl: source.url,
      },
    );
    expect(otherStorage.jobIdFor(items.slice(0, 2))).not.toBe(a.producer.jobIdFor(items.slice(0, 2)));
    expect((await otherStorage.enqueue(items)).jobs).toBe(3);
  });

  it('runs a finished job again when its images did not reach the gallery', async () => {
    const d = await deployment('d', 10);
    const items = (await listEnrollItems(source)).items;
    expect((await d.producer.enqueue(items)).jobs).toBe(1);

    // A worker that completes the job without writing the gallery.
    const options = queueConnectionOptions({
      redisUrl: REDIS_URL,
      queuePrefix: `fptest-${runId}-d`,
      storage: d.storageUrl,
    });
    const events = new QueueEvents(QUEUE_NAMES.enroll, options);
    await events.waitUntilReady();
    const [id] = await jobIds(d.queue);
    const worker = new Worker<EnrollJobData>(QUEUE_NAMES.enroll, async () => 'done', options);
    try {
      const job = (await d.queue.getJob(id))!;
      await job.waitUntilFinished(events, 10_000);
    } finally {
      await worker.close();
      await events.close();
    }
    expect(await d.queue.getJobState(id)).toBe('completed');

    expect(await d.producer.enqueue(items)).toMatchObject({ enqueued: 5, jobs: 1 });
    expect(await d.queue.getJobState(id)).toBe('waiting');

    await d.gallery.append(items.map(recordFor));
    expect(await d.producer.enqueue(items)).toMatchObject({ alreadyEnrolled: 5, enqueued: 0, jobs: 0 });
  });
});

describe('manifests', () => {
  it('parses CSV with a header, optional names and quoted fields', () => {
    const text = 'key,personId,name\r\np1/a.jpg,p1,Ann\n\n"p2/c, copy.png",p2,"Bob ""B"" Smith"\np3/d.jpeg,p3,\n';
    expect(parseManifest(text, 'csv')).toEqual([
      { key: 'p1/a.jpg', personId: 'p1', name: 'Ann', line: 2 },
      { key: 'p2/c, copy.png', personId: 'p2', name: 'Bob "B" Smith', line: 4 },
      { key: 'p3/d.jpeg', personId: 'p3', line: 5 },
    ]);
    expect(parseManifest('personId,key\np1,x.jpg\n', 'csv')).toEqual([{ key: 'x.jpg', personId: 'p1', line: 2 }]);
  });

  it('parses JSONL', () => {
    const text = '{"key":"p1/a.jpg","personId":"p1","name":"Ann"}\n\n{"key":"p2/c.png","personId":"p2"}\n';
    expect(parseManifest(text, 'jsonl')).toEqual([
      { key: 'p1/a.jpg', personId: 'p1', name: 'Ann', line: 1 },
      { key: 'p2/c.png', personId: 'p2', line: 3 },
    ]);
  });

  it('names the line of an error', () => {
    expect(() => parseManifest('key,personId\na.jpg,p1\nb.jpg\n', 'csv')).toThrow(/line 3: expected 2 fields/);
    expect(() => parseManifest('key,personId\na.jpg,"p1\n', 'csv')).toThrow(/line 2: unterminated quoted field/);
    expect(() => parseManifest('key,name\na.jpg,Ann\n', 'csv')).toThrow(/line 1: .*key and personId/);
    expect(() => parseManifest('key,personId\na.jpg,p1\na.jpg,p2\n', 'csv')).toThrow(
      /line 3: .*already listed on line 2/,
    );
    expect(() => parseManifest('{"key":"a.jpg","personId":"p1"}\n{"key":"b.jpg"\n', 'jsonl')).toThrow(
      /line 2: invalid JSON/,
    );
    expect(() => parseManifest('{"key":"","personId":"p1"}\n', 'jsonl')).toThrow(ManifestError);
    // A bad person id fails its line only (test/person-id.test.ts): the entry carries the problem.
    expect(parseManifest('{"key":"a.jpg","personId":""}\n', 'jsonl')[0].personIdProblem).toMatch(/empty/);
  });

  it('reads a manifest file and heads its keys; missing keys come back as missing', async () => {
    const file = path.join(dir, 'manifest.csv');
    await writeFile(file, 'key,personId,name\np1/b.jpg,emp-1,Ann\nnope/x.jpg,emp-2,\np3/e.jpg,emp-3,\n');
    const manifest = await readManifestFile(file);
    const listing = await listEnrollItems(source, { manifest });
    expect(listing.items.map((i) => [i.key, i.personId, i.name])).toEqual([
      ['p1/b.jpg', 'emp-1', 'Ann'],
      ['p3/e.jpg', 'emp-3', undefined],
    ]);
    expect(listing.missing).toEqual([{ key: 'nope/x.jpg', personId: 'emp-2', line: 3 }]);
    await writeFile(path.join(dir, 'bad.jsonl'), '{"key":"a.jpg","personId":"p"}\nnot json\n');
    await expect(readManifestFile(path.join(dir, 'bad.jsonl'))).rejects.toThrow(/bad\.jsonl: line 2/);
  });
});
