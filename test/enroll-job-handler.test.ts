import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { faceIdFor } from '../src/gallery/face-id.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { ChangeLog, LOG_START } from '../src/queue/change-log.js';
import type { EnrollJobData } from '../src/queue/jobs.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { canonicalStorageUrl } from '../src/storage/storage-url.js';
import { EnrollJobHandler } from '../src/workers/enroll-job-handler.js';
import { ROOT } from './support/cli-process.js';

const SAMPLE = path.join(ROOT, 'node_modules/@vladmandic/face-api/demo/sample1.jpg');

let dir: string;
let engine: FaceEngine;
let redis: Redis;
let changeLog: ChangeLog;
let gallery: GalleryStore;
let source: FolderStorage;
let handler: EnrollJobHandler;
let storageUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-handler-'));
  await mkdir(path.join(dir, 'src', 'ann'), { recursive: true });
  await sharp(SAMPLE).toFile(path.join(dir, 'src', 'ann', 'group.jpg'));
  await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } })
    .jpeg()
    .toFile(path.join(dir, 'src', 'ann', 'grey.jpg'));
  await writeFile(path.join(dir, 'src', 'ann', 'text.jpg'), 'not a jpeg');
  source = new FolderStorage(path.join(dir, 'src'));
  const storage = new FolderStorage(path.join(dir, 'data'));
  storageUrl = storage.url;
  gallery = new GalleryStore(storage, FACE_MODEL.id);
  engine = await FaceEngine.start({ threads: 1 });
  redis = new Redis();
  changeLog = new ChangeLog(redis, `fptest-${randomBytes(4).toString('hex')}:changes`);
  handler = new EnrollJobHandler({ analyzer: engine, gallery, changeLog, storageUrl });
});

afterAll(async () => {
  await engine?.close();
  await redis?.del(changeLog.key);
  redis?.disconnect();
  await rm(dir, { recursive: true, force: true });
});

async function jobFor(keys: string[]): Promise<EnrollJobData> {
  const items = [];
  for (const key of keys) {
    const head = await source.head(key);
    items.push({ key, personId: 'ann', etag: head?.etag ?? 'gone', size: head?.size ?? 0 });
  }
  return {
    storageUrl: canonicalStorageUrl(storageUrl),
    sourceUrl: canonicalStorageUrl(source.url),
    model: FACE_MODEL.id,
    items,
  };
}

describe('EnrollJobHandler', () => {
  it('enrolls the largest face, records bad images with their codes, and a rerun changes nothing', async () => {
    const data = await jobFor(['ann/group.jpg', 'ann/grey.jpg', 'ann/text.jpg', 'ann/missing.jpg']);
    const first = await handler.handle('enroll-test-job1', data);
    expect(first).toMatchObject({
      images: 4,
      enrolled: 1,
      failed: 3,
      errors: { NO_FACE: 1, NOT_AN_IMAGE: 1, MISSING_FILE: 1 },
    });
    expect(first.facesDetected).toBe(3); // sample1 holds three people

    const records = await gallery.readAll();
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record.faceId).toBe(faceIdFor(data.sourceUrl, 'ann/group.jpg', data.items[0].etag, FACE_MODEL.id));
    expect(record.embedding).toHaveLength(FACE_MODEL.embeddingSize);
    expect(record.landmarks).toHaveLength(68);
    expect(record.warnings?.[0]).toMatch(/3 faces/);
    // A group photo is a poor one-photo reference (issue 22): flagged, still enrolled.
    expect(record.flags).toContain('several-faces');
    // The largest of the three faces.
    const detected = await engine.detect(path.join(dir, 'src', 'ann', 'group.jpg'));
    const largest = Math.max(...detected.faces.map((f) => f.box.width * f.box.height));
    expect(record.box.width * record.box.height).toBeCloseTo(largest, -2);
    expect((await gallery.readFailures()).map((f) => f.code).sort()).toEqual([
      'MISSING_FILE',
      'NOT_AN_IMAGE',
      'NO_FACE',
    ]);

    const log = await changeLog.read(LOG_START);
    expect(log.map((e) => e.change)).toEqual([{ type: 'segment', key: first.segment }]);

    // A rerun of the same job (a retry, or a stalled job taken over) rewrites the same objects.
    const second = await handler.handle('enroll-test-job1', data);
    expect(second.segment).toBe(first.segment);
    expect(await gallery.readAll()).toHaveLength(1);
    expect(await gallery.readFailures()).toHaveLength(3);
    const segments = await readdir(
      path.join(dir, 'data', 'facepipe/gallery', encodeURIComponent(FACE_MODEL.id), 'segments'),
    );
    expect(segments).toHaveLength(1);
  });

  it('refuses a job of another deployment or model without trying it again', async () => {
    const data = await jobFor(['ann/group.jpg']);
    await expect(handler.handle('enroll-x', { ...data, storageUrl: 'file:///elsewhere' })).rejects.toMatchObject({
      name: 'UnrecoverableError',
    });
    await expect(handler.handle('enroll-x', { ...data, model: 'other-model' })).rejects.toThrow(/model other-model/);
  });

  it('lets a storage fault other than a missing key fail the job, so BullMQ retries it', async () => {
    const broken = new EnrollJobHandler({
      analyzer: engine,
      gallery,
      changeLog,
      storageUrl,
      openSource: () =>
        ({
          ...source,
          url: source.url,
          get: async () => {
            throw new Error('ECONNRESET');
          },
        }) as unknown as FolderStorage,
    });
    await expect(broken.handle('enroll-y', await jobFor(['ann/group.jpg']))).rejects.toThrow('ECONNRESET');
  });
});
