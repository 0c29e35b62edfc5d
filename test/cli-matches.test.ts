/**
 * `facepipe matches <personId>` (through an index service listening in this test process, its
 * sightings in a real Redis) and `facepipe matches rebuild` (local: storage and Redis from the
 * environment), each run as a real CLI process.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { registerMatchRoutes } from '../src/index/match-routes.js';
import { MatchStore } from '../src/matches/match-store.js';
import { matchKeyPrefix } from '../src/queue/queue-names.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { lastJson, runCli } from './support/cli-process.js';
import { resultJson } from './support/result-json.js';

const TIMEOUT = 120_000;
const facepipe = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { FACEPIPE_INDEX_URL: '', ...env });
const at = (hour: number) => `2026-11-28T${String(hour).padStart(2, '0')}:00:00.000Z`;

let redis: Redis;
const stores: MatchStore[] = [];
beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379');
});
afterAll(async () => {
  for (const store of stores.splice(0)) await store.clear();
  redis.disconnect();
});

describe('facepipe matches <personId>', () => {
  let app: FastifyInstance;
  let url: string;
  let store: MatchStore;

  beforeAll(async () => {
    store = new MatchStore(redis, `fptest-${randomBytes(4).toString('hex')}:matches`);
    stores.push(store);
    for (let hour = 1; hour <= 3; hour++) {
      const key = `cctv/cam-0${hour}/0${hour}0000.jpg`;
      await store.recordResult(
        'night-1',
        `facepipe/results/night-1/${key}.json`,
        resultJson(key, [{ personId: null }, { personId: 'emp-042', distance: 0.25 }], { modified: at(hour) }),
      );
    }
    app = buildIndexServer({ index: new FaceIndex({ dim: 8 }), threshold: 0.6 });
    registerMatchRoutes(app, store);
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('--json: the page as one JSON object, filtered by --since/--until and paged by --limit', {
    timeout: TIMEOUT,
  }, async () => {
    const run = await facepipe(['matches', 'emp-042', '--json', '--since', '2026-11-28T02:00:00Z', '--limit', '1'], {
      FACEPIPE_INDEX_URL: url,
    });
    expect(run.code).toBe(0);
    expect(lastJson(run)).toEqual(await store.query('emp-042', { since: new Date(at(2)), limit: 1 }));
    expect(lastJson(run)).toMatchObject({
      personId: 'emp-042',
      total: 2,
      items: [{ key: 'cctv/cam-03/030000.jpg', faceIndex: 1, seenAt: at(3), run: 'night-1' }],
    });
  });

  it("--camera: that camera's sightings alone (the key's folder for results without input.camera)", {
    timeout: TIMEOUT,
  }, async () => {
    const run = await facepipe(['matches', 'emp-042', '--json', '--camera', 'cam-02'], { FACEPIPE_INDEX_URL: url });
    expect(run.code).toBe(0);
    expect(lastJson(run)).toMatchObject({
      total: 1,
      items: [{ key: 'cctv/cam-02/020000.jpg', camera: 'cam-02', seenFrom: 'modified', seenAt: at(2) }],
    });
  });

  it('a bad capture setting stops a worker at start-up (exit 2), naming the setting and the problem', {
    timeout: TIMEOUT,
  }, async () => {
    const pattern = await facepipe(['worker'], { FACEPIPE_CAPTURE_KEY_PATTERN: '{yyyy}/{foo}.jpg' });
    expect(pattern.code).toBe(2);
    expect(pattern.stderr).toContain('invalid FACEPIPE_CAPTURE_KEY_PATTERN "{yyyy}/{foo}.jpg": unknown field {foo}');
    const zone = await facepipe(['worker', '--capture-time-zone', 'Mars/Base']);
    expect(zone.code).toBe(2);
    expect(zone.stderr).toContain('invalid --capture-time-zone "Mars/Base": unknown time zone');
  });

  it('a line per sighting: time, snapshot key, box, distance, result file', { timeout: TIMEOUT }, async () => {
    const run = await facepipe(['matches', 'emp-042', '--until', '2026-11-28T03:00:00+00:00', '--index-url', url]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('2 sighting(s) of emp-042 (showing 1-2, newest first)');
    expect(lines[1]).toBe(
      `${at(2)}\tcctv/cam-02/020000.jpg\tbox x=100 y=20 w=96 h=118\tdistance 0.250\tfacepipe/results/night-1/cctv/cam-02/020000.jpg.json`,
    );
    expect(lines).toHaveLength(3);
  });

  it.each([
    [['matches', 'emp-042', '--since', 'yesterday'], /--since/],
    [['matches', 'emp-042', '--since', '2026-11-29', '--until', '2026-11-28'], /--since must not be after --until/],
    [['matches', 'emp-042', '--limit', '0'], /--limit/],
    [['matches'], /missing required argument/],
    [['matches', 'rebuild', '--limit', '5'], /matches rebuild takes no --limit/],
  ])('usage error (exit 2) for %j', { timeout: TIMEOUT }, async (args, message) => {
    const run = await facepipe(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('--help says that a person named "rebuild" cannot be queried here', { timeout: TIMEOUT }, async () => {
    const run = await facepipe(['matches', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('literally "rebuild"');
  });
});

describe('facepipe matches rebuild', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-cli-matches-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("recreates the sightings from the result files in FACEPIPE_STORAGE, into this deployment's Redis keys", {
    timeout: TIMEOUT,
  }, async () => {
    const storage = new FolderStorage(dir);
    await storage.put(
      'facepipe/results/r1/a.jpg.json',
      JSON.stringify(resultJson('a.jpg', [{ personId: 'p1' }, { personId: 'p2' }], { modified: at(1) })),
    );
    await storage.put(
      'facepipe/results/r2/b.jpg.json',
      JSON.stringify(resultJson('b.jpg', [{ personId: 'p1' }], { modified: at(2) })),
    );
    const queuePrefix = `fptest-${randomBytes(4).toString('hex')}`;
    const env = { FACEPIPE_STORAGE: dir, REDIS_URL: 'redis://127.0.0.1:6379', FACEPIPE_QUEUE_PREFIX: queuePrefix };
    const store = new MatchStore(redis, matchKeyPrefix({ queuePrefix, storage: dir }));
    stores.push(store);

    const run = await facepipe(['matches', 'rebuild', '--json'], env);
    expect(run.code).toBe(0);
    const out = lastJson(run);
    expect(Object.keys(out).sort()).toEqual(['faces', 'results', 'seconds', 'skipped']);
    expect(out).toMatchObject({ results: 2, faces: 3, skipped: 0 });
    expect((await store.query('p1')).items.map((m) => [m.run, m.key])).toEqual([
      ['r2', 'b.jpg'],
      ['r1', 'a.jpg'],
    ]);

    // An unreadable result file: logged and skipped, the rest recorded, exit 1.
    await storage.put('facepipe/results/r2/c.jpg.json', 'not json');
    const human = await facepipe(['matches', 'rebuild'], env);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^rebuilt: 3 sighting\(s\) from 2 result file\(s\), 1 unreadable file\(s\) skipped/);
    expect(human.stderr).toContain('facepipe/results/r2/c.jpg.json');
    expect((await store.query('p2')).total).toBe(1);
  });
});
