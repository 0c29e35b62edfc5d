/**
 * MatchStore ("where was person X seen?") on a real Redis (127.0.0.1:6379, random key prefixes,
 * cleaned up) and result files in a folder storage; GET /v1/persons/:id/matches on fastify inject
 * and IndexClient.matches against the same store.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FaceIndex } from '../src/index/face-index.js';
import { IndexClient } from '../src/index/index-client.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { IndexServiceError } from '../src/index/index-service-error.js';
import { registerMatchRoutes } from '../src/index/match-routes.js';
import { MatchStore, parseIsoTime } from '../src/matches/match-store.js';
import type { MatchPage } from '../src/matches/types.js';
import { matchKeyPrefix } from '../src/queue/queue-names.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { failedResultJson, resultJson } from './support/result-json.js';

let redis: Redis;
const stores: MatchStore[] = [];

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379');
});
afterAll(() => {
  redis.disconnect();
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.clear();
});

function newStore(): MatchStore {
  const store = new MatchStore(redis, `fptest-${randomBytes(4).toString('hex')}:matches`);
  stores.push(store);
  return store;
}

const at = (hour: number) => `2026-11-28T${String(hour).padStart(2, '0')}:00:00.000Z`;
const resultKey = (run: string, key: string) => `facepipe/results/${run}/${key}.json`;

/** Records `key` in run r1 with the faces given, seen at `hour` (via input.modified). */
function record(store: MatchStore, key: string, faces: Parameters<typeof resultJson>[1], hour: number, run = 'r1') {
  return store.recordResult(
    run,
    resultKey(run, key),
    resultJson(key, faces, { modified: at(hour), processedAt: '2026-11-29T06:00:00.000Z' }),
  );
}

/** Snapshot key and face index of each item, in order. */
const sightings = (page: MatchPage) => page.items.map((m) => `${m.key}#${m.faceIndex}`);

describe('MatchStore', () => {
  it('records the identified faces of a result and answers newest first, with every field', async () => {
    const store = newStore();
    expect(await record(store, 'cam1/01.jpg', [{ personId: 'alice', distance: 0.21 }], 1)).toBe(1);
    // Two faces of alice in one snapshot, one of bob, one nobody: three recorded.
    expect(
      await record(
        store,
        'cam2/03.jpg',
        [{ personId: 'alice' }, { personId: null }, { personId: 'bob' }, { personId: 'alice', distance: 0.4 }],
        3,
      ),
    ).toBe(3);
    expect(await record(store, 'cam1/02.jpg', [{ personId: 'alice' }], 2)).toBe(1);
    expect(await store.recordResult('r1', resultKey('r1', 'bad.jpg'), failedResultJson('bad.jpg'))).toBe(0);

    const page = await store.query('alice');
    expect(page.total).toBe(4);
    // Newest first; two sightings at the same time come in a fixed (member-descending) order.
    expect(sightings(page)).toEqual(['cam2/03.jpg#3', 'cam2/03.jpg#0', 'cam1/02.jpg#0', 'cam1/01.jpg#0']);
    expect(page.items[3]).toEqual({
      personId: 'alice',
      run: 'r1',
      key: 'cam1/01.jpg',
      resultKey: 'facepipe/results/r1/cam1/01.jpg.json',
      faceIndex: 0,
      box: { x: 0, y: 20, width: 96, height: 118 },
      distance: 0.21,
      seenAt: at(1),
      seenFrom: 'modified',
      camera: 'cam1',
    });
    expect(page.items[0]).toMatchObject({ faceIndex: 3, box: { x: 300 }, distance: 0.4, seenAt: at(3) });
    expect(await store.query('bob')).toMatchObject({
      personId: 'bob',
      total: 1,
      items: [{ key: 'cam2/03.jpg', faceIndex: 2 }],
    });
    expect(await store.query('nobody-ever')).toEqual({ personId: 'nobody-ever', total: 0, items: [] });
  });

  it('is seen at input.modified when the result has it, else at processedAt (as ISO UTC)', async () => {
    const store = newStore();
    await store.recordResult(
      'r1',
      resultKey('r1', 'a.jpg'),
      resultJson('a.jpg', [{ personId: 'p' }], { processedAt: '2026-11-29T03:00:00+01:00' }),
    );
    await store.recordResult(
      'r1',
      resultKey('r1', 'b.jpg'),
      resultJson('b.jpg', [{ personId: 'p' }], { processedAt: at(9), modified: at(1) }),
    );
    const page = await store.query('p');
    expect(page.items.map((m) => [m.key, m.seenAt])).toEqual([
      ['a.jpg', '2026-11-29T02:00:00.000Z'],
      ['b.jpg', at(1)],
    ]);
  });

  it('filters by since (inclusive) and until (exclusive), and pages with limit and offset; total counts the range', async () => {
    const store = newStore();
    for (let hour = 0; hour < 10; hour++) await record(store, `cam/${hour}.jpg`, [{ personId: 'p' }], hour);
    const keys = (page: MatchPage) => page.items.map((m) => m.key);

    expect(keys(await store.query('p', { limit: 3 }))).toEqual(['cam/9.jpg', 'cam/8.jpg', 'cam/7.jpg']);
    const second = await store.query('p', { limit: 3, offset: 3 });
    expect(second.total).toBe(10);
    expect(keys(second)).toEqual(['cam/6.jpg', 'cam/5.jpg', 'cam/4.jpg']);

    const window = await store.query('p', { since: new Date(at(2)), until: new Date(at(5)) });
    expect(window.total).toBe(3);
    expect(keys(window)).toEqual(['cam/4.jpg', 'cam/3.jpg', 'cam/2.jpg']);
    expect((await store.query('p', { since: new Date(at(8)) })).total).toBe(2);
    expect(keys(await store.query('p', { until: new Date(at(1)) }))).toEqual(['cam/0.jpg']);
    const past = await store.query('p', { since: new Date(at(2)), until: new Date(at(5)), offset: 5 });
    expect(past).toEqual({ personId: 'p', total: 3, items: [] });

    await expect(store.query('p', { limit: 0 })).rejects.toThrow(RangeError);
    await expect(store.query('p', { offset: -1 })).rejects.toThrow(RangeError);
    await expect(store.query('p', { since: new Date(NaN) })).rejects.toThrow(/since/);
  });

  it('re-recording a result overwrites it; a changed decision removes the stale sighting', async () => {
    const store = newStore();
    const faces = [{ personId: 'alice' }, { personId: 'bob' }];
    await record(store, 'cam/1.jpg', faces, 1);
    await record(store, 'cam/1.jpg', faces, 1);
    expect((await store.query('alice')).total).toBe(1);
    expect((await store.query('bob')).total).toBe(1);

    // Re-identified: face 0 is now carol, face 1 nobody; the snapshot's time changed too.
    expect(await record(store, 'cam/1.jpg', [{ personId: 'carol', distance: 0.1 }, { personId: null }], 4)).toBe(1);
    expect(await store.query('alice')).toEqual({ personId: 'alice', total: 0, items: [] });
    expect((await store.query('bob')).total).toBe(0);
    expect(await store.query('carol')).toMatchObject({
      total: 1,
      items: [{ key: 'cam/1.jpg', faceIndex: 0, distance: 0.1, seenAt: at(4) }],
    });

    // The same input key in another run is another sighting.
    await record(store, 'cam/1.jpg', [{ personId: 'carol' }], 5, 'r2');
    expect((await store.query('carol')).items.map((m) => m.run)).toEqual(['r2', 'r1']);

    // A result that now fails (no faces) takes its sightings away; no key of the person is left behind.
    await store.recordResult('r1', resultKey('r1', 'cam/1.jpg'), failedResultJson('cam/1.jpg'));
    await store.recordResult('r2', resultKey('r2', 'cam/1.jpg'), failedResultJson('cam/1.jpg'));
    expect((await store.query('carol')).total).toBe(0);
    expect(await redis.keys(`${store.prefix}:*`)).toEqual([]);
  });

  it('refuses what is not a facepipe.result/v1 result', async () => {
    const store = newStore();
    const bad = { ...resultJson('a.jpg', [{ personId: 'p' }]), schema: 'facepipe.result/v0' };
    await expect(store.recordResult('r1', 'k', bad as never)).rejects.toThrow(/schema/);
    const noTime = { ...resultJson('a.jpg', [{ personId: 'p' }]), processedAt: 'yesterday' };
    await expect(store.recordResult('r1', 'k', noTime)).rejects.toThrow(/processedAt/);
  });
});

describe('MatchStore.rebuild', () => {
  let dir: string;
  let storage: FolderStorage;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'facepipe-matches-'));
    storage = new FolderStorage(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const put = (key: string, value: unknown) =>
    storage.put(key, typeof value === 'string' ? value : JSON.stringify(value));

  it('recreates the sightings from the result files alone, skipping (and counting) unreadable files', async () => {
    await put(
      'facepipe/results/night-1/cctv/cam-03/021500.jpg.json',
      resultJson('cctv/cam-03/021500.jpg', [{ personId: 'emp-042' }, { personId: null }], { modified: at(2) }),
    );
    await put(
      'facepipe/results/night-1/cctv/cam-03/021600.jpg.json',
      resultJson('cctv/cam-03/021600.jpg', [{ personId: 'emp-042' }, { personId: 'emp-007' }], { modified: at(3) }),
    );
    await put(
      'facepipe/results/night-2/cctv/cam-01/010000.jpg.json',
      resultJson('cctv/cam-01/010000.jpg', [{ personId: 'emp-042' }], { processedAt: at(5) }),
    );
    await put('facepipe/results/night-2/cctv/cam-01/broken.jpg.json', failedResultJson('cctv/cam-01/broken.jpg'));
    // Unreadable: not JSON, another schema, no run folder. Not a result at all: ignored.
    await put('facepipe/results/night-2/cctv/cam-01/cut.jpg.json', '{"schema": "facepipe.res');
    await put('facepipe/results/night-2/old.jpg.json', { schema: 'something/v9', faces: [] });
    await put('facepipe/results/stray.json', resultJson('stray.jpg', [{ personId: 'emp-042' }]));
    await put('facepipe/results/night-2/notes.txt', 'not a result');
    await put('facepipe/gallery/x.json', resultJson('elsewhere.jpg', [{ personId: 'emp-042' }]));

    const store = newStore();
    const other = newStore();
    // Stale: recorded before, its file gone since. Another prefix's keys must survive the rebuild.
    await record(store, 'gone.jpg', [{ personId: 'emp-042' }], 9);
    await record(other, 'kept.jpg', [{ personId: 'emp-042' }], 9);

    expect(await store.rebuild(storage)).toEqual({ results: 4, faces: 4, skipped: 3 });
    const page = await store.query('emp-042');
    expect(page.items.map((m) => [m.run, m.key, m.faceIndex, m.seenAt])).toEqual([
      ['night-2', 'cctv/cam-01/010000.jpg', 0, at(5)],
      ['night-1', 'cctv/cam-03/021600.jpg', 0, at(3)],
      ['night-1', 'cctv/cam-03/021500.jpg', 0, at(2)],
    ]);
    expect(page.items[0].resultKey).toBe('facepipe/results/night-2/cctv/cam-01/010000.jpg.json');
    expect(await store.query('emp-007')).toMatchObject({ total: 1, items: [{ faceIndex: 1 }] });
    expect((await other.query('emp-042')).items.map((m) => m.key)).toEqual(['kept.jpg']);

    // Twice in a row: the same record.
    expect(await store.rebuild(storage)).toEqual({ results: 4, faces: 4, skipped: 3 });
    expect(await store.query('emp-042')).toEqual(page);
  });

  it('keeps an erased person erased: sightings written before their deletion are not brought back', async () => {
    await put('facepipe/results/night-1/a.jpg.json', resultJson('a.jpg', [{ personId: 'gone' }, { personId: 'kept' }]));
    const written = (await storage.head('facepipe/results/night-1/a.jpg.json'))!.modified;
    const store = newStore();
    const deletedAfter = new Map([['gone', new Date(written.getTime() + 1000)]]);
    expect(await store.rebuild(storage, undefined, deletedAfter)).toEqual({ results: 1, faces: 1, skipped: 0 });
    expect((await store.query('gone')).total).toBe(0);
    expect((await store.query('kept')).total).toBe(1);
    // Deleted before this file was written (re-enrolled, then seen again): the sighting counts.
    const deletedBefore = new Map([['gone', new Date(written.getTime() - 1000)]]);
    expect(await store.rebuild(storage, undefined, deletedBefore)).toEqual({ results: 1, faces: 2, skipped: 0 });
    expect((await store.query('gone')).total).toBe(1);
  });

  it('takes another results prefix, with or without its trailing slash', async () => {
    await put('elsewhere/run-a/x.jpg.json', resultJson('x.jpg', [{ personId: 'p' }], { modified: at(1) }));
    const store = newStore();
    expect(await store.rebuild(storage, 'elsewhere')).toEqual({ results: 1, faces: 1, skipped: 0 });
    expect((await store.query('p')).items[0]).toMatchObject({ run: 'run-a', resultKey: 'elsewhere/run-a/x.jpg.json' });
    expect(await store.rebuild(storage)).toEqual({ results: 0, faces: 0, skipped: 0 });
    expect((await store.query('p')).total).toBe(0);
  });
});

describe('matchKeyPrefix and parseIsoTime', () => {
  it('names the keys per deployment: <queuePrefix>:<storageTag>:matches', () => {
    const a = matchKeyPrefix({ queuePrefix: 'facepipe', storage: '/data/a' });
    expect(a).toMatch(/^facepipe:[0-9a-f]{12}:matches$/);
    expect(matchKeyPrefix({ queuePrefix: 'facepipe', storage: '/data/b' })).not.toBe(a);
    expect(matchKeyPrefix({ queuePrefix: 'other', storage: '/data/a' })).not.toBe(a);
  });

  it('takes dates and zoned date-times only', () => {
    expect(parseIsoTime('2026-11-28')?.toISOString()).toBe('2026-11-28T00:00:00.000Z');
    expect(parseIsoTime('2026-11-28T03:15:00+01:00')?.toISOString()).toBe('2026-11-28T02:15:00.000Z');
    expect(parseIsoTime('2026-11-28T02:15Z')?.toISOString()).toBe('2026-11-28T02:15:00.000Z');
    for (const bad of ['2026-11-28T02:15:00', '2026-02-30', '2026-13-01', 'yesterday', '1732760100000', ''])
      expect(parseIsoTime(bad)).toBeNull();
  });
});

describe('GET /v1/persons/:id/matches', () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  async function server() {
    const store = newStore();
    await record(store, 'cam/1.jpg', [{ personId: 'emp@42' }, { personId: 'p' }], 1);
    await record(store, 'cam/2.jpg', [{ personId: 'p' }], 2);
    await record(store, 'cam/3.jpg', [{ personId: 'p' }], 3);
    const app = buildIndexServer({ index: new FaceIndex({ dim: 8 }), threshold: 0.6 });
    registerMatchRoutes(app, store);
    apps.push(app);
    return { app, store };
  }

  it('answers a page of sightings, newest first, filtered and paged by the query', async () => {
    const { app, store } = await server();
    const all = await app.inject({ method: 'GET', url: '/v1/persons/p/matches' });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual(await store.query('p'));
    expect(sightings(all.json())).toEqual(['cam/3.jpg#0', 'cam/2.jpg#0', 'cam/1.jpg#1']);

    const query = new URLSearchParams({
      since: '2026-11-28T02:00:00+00:00',
      until: '2026-11-28T03:00:00Z',
      limit: '5',
      offset: '0',
    });
    const window = await app.inject({ method: 'GET', url: `/v1/persons/p/matches?${query}` });
    expect(window.statusCode).toBe(200);
    expect(window.json()).toMatchObject({ personId: 'p', total: 1, items: [{ key: 'cam/2.jpg' }] });

    const paged = await app.inject({ method: 'GET', url: '/v1/persons/p/matches?limit=1&offset=1' });
    expect(paged.json()).toMatchObject({ total: 3, items: [{ key: 'cam/2.jpg' }] });

    // An id with an '@' (encoded), and a person never seen: an empty page, not a 404.
    const slash = await app.inject({ method: 'GET', url: '/v1/persons/emp%4042/matches' });
    expect(slash.json()).toMatchObject({ personId: 'emp@42', total: 1 });
    expect((await app.inject({ method: 'GET', url: '/v1/persons/ghost/matches' })).json()).toEqual({
      personId: 'ghost',
      total: 0,
      items: [],
    });
  });

  it.each([
    ['since=yesterday', /since must be an ISO 8601/],
    ['until=2026-11-28T02:00:00', /until must be an ISO 8601/],
    ['since=2026-11-29&until=2026-11-28', /since must not be after until/],
    ['limit=0', /limit must be an integer from 1 to 1000/],
    ['limit=1001', /limit must be an integer from 1 to 1000/],
    ['offset=-1', /offset/],
    ['limit=abc', /limit/],
  ])('400 BAD_REQUEST in the API error format for ?%s', async (qs, message) => {
    const { app } = await server();
    const res = await app.inject({ method: 'GET', url: `/v1/persons/p/matches?${qs}` });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { error: { code: string; message: string } };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.code).toBe('BAD_REQUEST');
    expect(body.error.message).toMatch(message);
  });

  it('IndexClient.matches: Dates and strings for since/until, limit and offset', async () => {
    const { app, store } = await server();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const client = new IndexClient(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
    expect(await client.matches('p')).toEqual(await store.query('p'));
    expect(await client.matches('p', { since: new Date(at(2)), limit: 1 })).toMatchObject({
      total: 2,
      items: [{ key: 'cam/3.jpg' }],
    });
    expect(await client.matches('p', { until: '2026-11-28T02:00:00Z', offset: 0 })).toMatchObject({
      total: 1,
      items: [{ key: 'cam/1.jpg' }],
    });
    expect((await client.matches('emp@42')).total).toBe(1);
    const err = await client.matches('p', { since: 'soon' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IndexServiceError);
    expect(err).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
  });
});
