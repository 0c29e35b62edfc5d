/**
 * Sightings are seen when the snapshot was taken (the result's input.captured: EXIF, key, or
 * last-modified) and by a camera one can filter on: MatchStore on a real Redis (random prefixes,
 * cleaned up), GET /v1/persons/:id/matches?camera= on fastify inject, IndexClient, and a rebuild
 * from result files written before captured and camera existed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaceIndex } from '../src/index/face-index.js';
import { IndexClient } from '../src/index/index-client.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { registerMatchRoutes } from '../src/index/match-routes.js';
import { MatchStore } from '../src/matches/match-store.js';
import type { MatchPage } from '../src/matches/types.js';
import type { ResultJson } from '../src/results/result-types.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { resultJson } from './support/result-json.js';

let redis: Redis;
const stores: MatchStore[] = [];
const apps: FastifyInstance[] = [];

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379');
});
afterAll(() => {
  redis.disconnect();
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const store of stores.splice(0)) await store.clear();
});

function newStore(): MatchStore {
  const store = new MatchStore(redis, `fptest-${randomBytes(4).toString('hex')}:matches`);
  stores.push(store);
  return store;
}

/** Everything was uploaded on Dec 6th, a week after the night it shows. */
const UPLOADED = '2026-12-06T09:00:00.000Z';
const night = (hour: number) => `2026-11-28T${String(hour).padStart(2, '0')}:00:00.000Z`;

/** A result of `key` (uploaded on Dec 6th) with p identified, and these input fields. */
function taken(key: string, input: Partial<ResultJson['input']>): ResultJson {
  const result = resultJson(key, [{ personId: 'p' }], { modified: UPLOADED });
  return { ...result, input: { ...result.input, ...input } };
}

const keys = (page: MatchPage) => page.items.map((m) => m.key);

/** Three back-filled snapshots of the night, on two cameras, and one live upload written before captured and camera existed. */
const BACKFILLED: [key: string, input: Partial<ResultJson['input']>][] = [
  ['export/a.jpg', { captured: '2026-11-28T02:15:00.000+01:00', capturedFrom: 'exif', camera: 'cam-03' }],
  ['2026-11-28/cam-03/030000.jpg', { captured: night(3), capturedFrom: 'key', camera: 'cam-03' }],
  ['2026-11-28/cam-07/040000.jpg', { captured: night(4), capturedFrom: 'key', camera: 'cam-07' }],
  // Last-modified, and the key's folder.
  ['cam-07/live.jpg', {}],
];
const resultKeyOf = (key: string) => `facepipe/results/night-1/${key}.json`;

async function backFilled(store: MatchStore): Promise<void> {
  for (const [key, input] of BACKFILLED) await store.recordResult('night-1', resultKeyOf(key), taken(key, input));
}

describe('sightings by capture time and camera', () => {
  it('are seen at input.captured, with where it came from; a result without it at input.modified', async () => {
    const store = newStore();
    await backFilled(store);
    const page = await store.query('p');
    expect(page.items.map((m) => [m.key, m.seenAt, m.seenFrom, m.camera])).toEqual([
      ['cam-07/live.jpg', UPLOADED, 'modified', 'cam-07'],
      ['2026-11-28/cam-07/040000.jpg', night(4), 'key', 'cam-07'],
      ['2026-11-28/cam-03/030000.jpg', night(3), 'key', 'cam-03'],
      ['export/a.jpg', '2026-11-28T01:15:00.000Z' /* 02:15+01:00 */, 'exif', 'cam-03'],
    ]);
    // --since/--until select by when the snapshots were taken, not when they were uploaded.
    const theNight = await store.query('p', { since: new Date('2026-11-28'), until: new Date('2026-11-29') });
    expect(theNight.total).toBe(3);
    expect(keys(await store.query('p', { since: new Date(night(3)) }))).toEqual([
      'cam-07/live.jpg',
      '2026-11-28/cam-07/040000.jpg',
      '2026-11-28/cam-03/030000.jpg',
    ]);
  });

  it('filter by camera, with since/until and paging; total counts that camera', async () => {
    const store = newStore();
    await backFilled(store);
    expect(keys(await store.query('p', { camera: 'cam-03' }))).toEqual([
      '2026-11-28/cam-03/030000.jpg',
      'export/a.jpg',
    ]);
    expect(keys(await store.query('p', { camera: 'cam-07' }))).toEqual([
      'cam-07/live.jpg',
      '2026-11-28/cam-07/040000.jpg',
    ]);
    const window = await store.query('p', { camera: 'cam-07', until: new Date('2026-11-29'), limit: 1 });
    expect(window).toMatchObject({ total: 1, items: [{ key: '2026-11-28/cam-07/040000.jpg' }] });
    expect(await store.query('p', { camera: 'cam-99' })).toEqual({ personId: 'p', total: 0, items: [] });
    await expect(store.query('p', { camera: '' })).rejects.toThrow(/camera/);
  });

  it('a result recorded again under another camera leaves nothing under the old one', async () => {
    const store = newStore();
    const key = 'x/1.jpg';
    const record = (input: Partial<ResultJson['input']>) =>
      store.recordResult('r1', `facepipe/results/r1/${key}.json`, taken(key, input));
    await record({ camera: 'a:b' }); // a ':' in a camera does not mix its keys up with a person's
    expect((await store.query('p', { camera: 'a:b' })).total).toBe(1);
    await record({ camera: 'c' });
    expect((await store.query('p', { camera: 'a:b' })).total).toBe(0);
    expect((await store.query('p', { camera: 'c' })).total).toBe(1);
    await store.recordResult('r1', `facepipe/results/r1/${key}.json`, {
      ...taken(key, { camera: 'c' }),
      faces: [],
    });
    expect(await redis.keys(`${store.prefix}:*`)).toEqual([]);
  });

  it('GET /v1/persons/:id/matches?camera= and IndexClient.matches({ camera })', async () => {
    const store = newStore();
    await backFilled(store);
    const app = buildIndexServer({ index: new FaceIndex({ dim: 8 }), threshold: 0.6 });
    registerMatchRoutes(app, store);
    apps.push(app);
    const res = await app.inject({ method: 'GET', url: '/v1/persons/p/matches?camera=cam-03&since=2026-11-28T02:00Z' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      total: 1,
      items: [{ key: '2026-11-28/cam-03/030000.jpg', camera: 'cam-03', seenFrom: 'key', seenAt: night(3) }],
    });
    const empty = await app.inject({ method: 'GET', url: '/v1/persons/p/matches?camera=' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.message).toMatch(/camera/);

    await app.listen({ port: 0, host: '127.0.0.1' });
    const client = new IndexClient(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
    expect(keys(await client.matches('p', { camera: 'cam-07' }))).toEqual([
      'cam-07/live.jpg',
      '2026-11-28/cam-07/040000.jpg',
    ]);
  });

  it('rebuild from result files with and without captured: the same sightings and cameras', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'facepipe-match-capture-'));
    try {
      const storage = new FolderStorage(dir);
      const live = newStore();
      await backFilled(live);
      for (const [key, input] of BACKFILLED) await storage.put(resultKeyOf(key), JSON.stringify(taken(key, input)));
      const rebuilt = newStore();
      expect(await rebuilt.rebuild(storage)).toEqual({ results: 4, faces: 4, skipped: 0 });
      expect(await rebuilt.query('p')).toEqual(await live.query('p'));
      expect(keys(await rebuilt.query('p', { camera: 'cam-07' }))).toEqual(
        keys(await live.query('p', { camera: 'cam-07' })),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
