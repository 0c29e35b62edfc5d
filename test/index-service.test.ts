import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GalleryRecord } from '../src/gallery/gallery-record.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { IndexService } from '../src/index/index-service.js';
import { IndexSnapshotStore } from '../src/index/index-snapshot-store.js';
import { ChangeLog } from '../src/queue/change-log.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { clusteredFaces, prng } from './support/synthetic-embeddings.js';

const MODEL = 'test-model';
const DIM = 8;

let dir: string;
let storage: FolderStorage;
let gallery: GalleryStore;
let snapshots: IndexSnapshotStore;
let redis: Redis;
let log: ChangeLog;
const services: IndexService[] = [];
const redisClients: Redis[] = [];

function records(
  persons: number,
  perPerson: number,
  seed: number,
  enrolledAt = new Date().toISOString(),
): GalleryRecord[] {
  return clusteredFaces(prng(seed), { dim: DIM, persons, perPerson, sigma: 0.1 }).faces.map((face) => ({
    faceId: `${seed}-${face.faceId}`,
    personId: `s${seed}-${face.personId}`,
    source: 'file:///src',
    sourceKey: `${face.personId}/${face.faceId}.jpg`,
    sourceEtag: 'e1',
    box: { x: 0, y: 0, width: 10, height: 10 },
    landmarks: [],
    score: 0.9,
    model: MODEL,
    embedding: Array.from(face.embedding),
    enrolledAt,
  }));
}

/** What a worker does: write a segment, then publish it. */
async function enroll(batch: GalleryRecord[]): Promise<void> {
  await log.publish({ type: 'segment', key: await gallery.append(batch) });
}

async function startService(options: { snapshotEveryChanges?: number } = {}): Promise<IndexService> {
  const reader = new Redis();
  redisClients.push(reader);
  const service = new IndexService(gallery, snapshots, new ChangeLog(reader, log.key), {
    dim: DIM,
    readBlockMs: 100,
    snapshotEveryChanges: options.snapshotEveryChanges ?? 1000,
    snapshotEveryMs: 3_600_000,
  });
  service.useDeletionLog(log);
  services.push(service);
  await service.start();
  await until(() => service.isReady);
  return service;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-index-service-'));
  storage = new FolderStorage(dir);
  gallery = new GalleryStore(storage, MODEL);
  snapshots = new IndexSnapshotStore(storage, MODEL);
  redis = new Redis();
  log = new ChangeLog(redis, `fptest-${randomBytes(4).toString('hex')}:changes`);
});

afterEach(async () => {
  for (const service of services.splice(0)) await service.stop().catch(() => {});
  for (const client of redisClients.splice(0)) client.disconnect();
  await redis.del(log.key);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

afterAll(() => {
  for (const client of redisClients) client.disconnect();
});

describe('IndexService', () => {
  it('builds from the gallery, follows the change log, snapshots on stop and restores plus replays', async () => {
    await enroll(records(3, 2, 1));
    const first = await startService();
    expect(first.status()).toMatchObject({ loadedFrom: 'gallery', faces: 6, persons: 3 });

    await enroll(records(2, 2, 2));
    await until(() => first.current.size === 10);
    await first.stop();
    const [snapshot] = await snapshots.list();
    expect(snapshot.complete).toBe(true);

    // Changes while the service is down are replayed after its snapshot.
    await enroll(records(1, 3, 3));
    const second = await startService();
    expect(second.status().loadedFrom).toBe(`snapshot ${snapshot.name}`);
    await until(() => second.current.size === 13);
    expect(new Set(second.current.persons().map((p) => p.faces))).toEqual(new Set([2, 3]));
    const all = (await gallery.readAll()).map((r) => r.faceId).sort();
    expect(
      second.current
        .persons()
        .flatMap((p) => second.current.personFaces(p.personId))
        .sort(),
    ).toEqual(all);
  });

  it('builds from the gallery when the log cannot cover the gap after the snapshot (Redis lost the stream)', async () => {
    await enroll(records(2, 2, 1));
    const first = await startService();
    await first.stop();
    await redis.del(log.key); // Redis restarted without persistence
    await gallery.append(records(1, 2, 9)); // enrolled while the log was gone
    const second = await startService();
    expect(second.status()).toMatchObject({ loadedFrom: 'gallery', faces: 6 });
  });

  it('applies deletions, and does not bring back a deleted person from an older segment replayed later', async () => {
    const batch = records(2, 2, 1, '2026-11-01T00:00:00.000Z');
    await enroll(batch);
    const service = await startService();
    await service.recordDeletion('s1-p0');
    service.current.removePerson('s1-p0'); // what DELETE /v1/persons/:id does next
    await until(() => service.current.size === 2);
    // The same (older) segment announced again, e.g. a worker's retry: p0 stays deleted.
    await log.publish({ type: 'segment', key: await gallery.append(batch.filter((r) => r.personId === 's1-p0')) });
    await enroll(records(1, 1, 5)); // a marker to wait for
    await until(() => service.current.size === 3);
    expect(service.current.personFaces('s1-p0')).toEqual([]);
    expect((await gallery.persons()).has('s1-p0')).toBe(false);
  });

  it('rebuilds from the gallery with new parameters while answering, then catches up with the log', async () => {
    await enroll(records(20, 3, 1));
    const service = await startService();
    const before = service.current;
    expect(service.startRebuild({ m: 8, efConstruction: 50 })).toBe(true);
    expect(service.startRebuild()).toBe(false); // one at a time
    await enroll(records(1, 2, 7)); // arrives during the rebuild
    await until(() => service.status().rebuild.state === 'done');
    expect(service.current).not.toBe(before);
    expect(service.current.m).toBe(8);
    await until(() => service.current.size === 62);
  });
});
