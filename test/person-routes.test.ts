/**
 * The person routes the console uses (src/index/person-routes.ts), as `facepipe serve` runs them
 * (startIndexService: real HTTP, real Redis under a random prefix, a real folder storage, API
 * keys): the directory (names, search, records, last seen), rename, merge, face removal and photo
 * upload; after each change the gallery, the index and the matches are read back and must agree,
 * on this service and on a second one that learns of the change through the change log.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AppConfig, loadAppConfig } from '../src/config/app-config.js';
import { BASE_MODEL, type EmbeddingModel } from '../src/engine/embedding-model.js';
import type { GalleryRecord } from '../src/gallery/gallery-record.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { ApiKeyStore } from '../src/index/auth/api-key-store.js';
import { type RunningIndexService, startIndexService } from '../src/index/index-service-runtime.js';
import { MatchStore } from '../src/matches/match-store.js';
import { ChangeLog } from '../src/queue/change-log.js';
import type { EnrollJobData } from '../src/queue/jobs.js';
import {
  apiKeysKey,
  changeLogKey,
  matchKeyPrefix,
  QUEUE_NAMES,
  queueConnectionOptions,
} from '../src/queue/queue-names.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { waitFor } from './support/cli-process.js';
import { resultJson } from './support/result-json.js';
import { clusteredFaces, prng } from './support/synthetic-embeddings.js';

const DIM = 16;

let dir: string;
let config: AppConfig;
let model: EmbeddingModel;
let storage: FolderStorage;
let gallery: GalleryStore;
let redis: Redis;
let log: ChangeLog;
let matches: MatchStore;
let readKey: string;
let adminKey: string;
const running: RunningIndexService[] = [];
const queues: Queue[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-person-routes-'));
  config = loadAppConfig({ storage: dir, queuePrefix: `fptest-${randomBytes(4).toString('hex')}-persons` });
  model = { ...BASE_MODEL, id: 'person-routes-model', embeddingSize: DIM };
  storage = new FolderStorage(dir);
  gallery = new GalleryStore(storage, model.id);
  redis = new Redis(config.redisUrl);
  log = new ChangeLog(redis, changeLogKey(config, model.id));
  matches = new MatchStore(redis, matchKeyPrefix(config));
  const keys = new ApiKeyStore(redis, apiKeysKey(config));
  readKey = (await keys.create('read')).key;
  adminKey = (await keys.create('admin')).key;
});

afterEach(async () => {
  for (const service of running.splice(0)) await service.close().catch(() => undefined);
  for (const queue of queues.splice(0)) await queue.close();
  const keys = await redis.keys(`${config.queuePrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

/** Three persons: ann (2 faces, named "Ann Smith"), bob (2 faces), cid (1 face, named "Cid"). */
function records(): GalleryRecord[] {
  const faces = clusteredFaces(prng(7), { dim: DIM, persons: 3, perPerson: 2, sigma: 0.05 }).faces;
  const ids = ['ann', 'bob', 'cid'];
  const names: Record<string, string | undefined> = { ann: 'Ann Smith', bob: undefined, cid: 'Cid' };
  return faces
    .filter((face) => face.faceId !== 'p2-f1')
    .map((face, i) => {
      const personId = ids[Number(face.personId.slice(1))];
      return {
        faceId: `f-${face.faceId}`,
        personId,
        ...(names[personId] === undefined ? {} : { name: names[personId] }),
        source: storage.url,
        sourceKey: `archive/${personId}/${face.faceId}.jpg`,
        sourceEtag: 'e1',
        box: { x: 10 + i, y: 20, width: 100, height: 120 },
        landmarks: [],
        score: 0.9,
        quality: { size: 100, blur: 0.1, pose: 0.2 },
        model: model.id,
        embedding: Array.from(face.embedding, (v) => Number(v.toPrecision(7))),
        enrolledAt: new Date(Date.now() - 60_000).toISOString(),
      };
    });
}

let enrolled: GalleryRecord[];

/** Enrolls the records as a worker does (segment, then log entry) and starts a service. */
async function startWithGallery(): Promise<RunningIndexService> {
  enrolled = records();
  await log.publish({ type: 'segment', key: await gallery.append(enrolled) });
  return start();
}

async function start(): Promise<RunningIndexService> {
  const started = await startIndexService(config, {
    port: 0,
    host: '127.0.0.1',
    model,
    keyRefreshMs: 100,
    service: { readBlockMs: 100, snapshotEveryChanges: 1000, snapshotEveryMs: 3_600_000 },
  });
  running.push(started);
  await waitFor('service ready', async () => started.service.isReady || undefined, 20_000);
  return started;
}

interface Answer<T> {
  status: number;
  body: T & { error?: { code: string; message: string } };
}

async function call<T = Record<string, unknown>>(
  service: RunningIndexService,
  method: string,
  route: string,
  options: { json?: unknown; body?: Uint8Array; type?: string; key?: string } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? adminKey}` };
  let body: RequestInit['body'];
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    headers['content-type'] = options.type ?? 'application/octet-stream';
    body = options.body;
  }
  const res = await fetch(service.url + route, { method, headers, body });
  return { status: res.status, body: (await res.json()) as Answer<T>['body'] };
}

interface PersonsPage {
  persons: number;
  faces: number;
  total: number;
  items: { personId: string; name?: string; faces: number; lastSeen?: string }[];
}

interface Person {
  personId: string;
  name?: string;
  faces: string[];
  enrolled: { faceId: string; sourceKey: string; box: unknown; score: number; quality?: unknown; enrolledAt: string }[];
}

const person = (service: RunningIndexService, id: string) => call<Person>(service, 'GET', `/v1/persons/${id}`);
const list = (service: RunningIndexService, query = '') =>
  call<PersonsPage>(service, 'GET', `/v1/persons${query}`, { key: readKey });

/** Nearest face of each vector, by the service's index. */
async function nearest(service: RunningIndexService, vectors: number[][]) {
  const res = await call<{ results: { personId: string; faceId: string }[][] }>(service, 'POST', '/v1/search', {
    json: { vectors, k: 1 },
    key: readKey,
  });
  expect(res.status).toBe(200);
  return res.body.results.map((hits) => hits[0]);
}

/** faceId -> personId of the live gallery, read from storage. */
async function galleryFaces(): Promise<Map<string, { personId: string; name?: string }>> {
  return new Map((await gallery.readAll()).map((r) => [r.faceId, { personId: r.personId, name: r.name }]));
}

/** Every line of every segment in storage (erased records are gone from here, not only hidden). */
async function segmentLines(): Promise<GalleryRecord[]> {
  const segments = path.join(dir, gallery.prefix, 'segments');
  const lines: GalleryRecord[] = [];
  for (const file of await readdir(segments))
    for (const line of (await readFile(path.join(segments, file), 'utf8')).split('\n'))
      if (line.trim() !== '') lines.push(JSON.parse(line) as GalleryRecord);
  return lines;
}

/** A sighting of `personId` in a result of run `night-1` (camera cam-01): its result file, then its record. */
async function sighting(personId: string, at: string, n = 0): Promise<void> {
  const key = `cctv/cam-01/${n}.jpg`;
  const result = resultJson(key, [{ personId }], { modified: at });
  await storage.put(`facepipe/results/night-1/${key}.json`, JSON.stringify(result));
  await matches.recordResult('night-1', `facepipe/results/night-1/${key}.json`, result);
}

async function sightings(service: RunningIndexService, personId: string) {
  const page = await call<{ total: number; items: { key: string; camera?: string }[] }>(
    service,
    'GET',
    `/v1/persons/${personId}/matches`,
    { key: readKey },
  );
  expect(page.status).toBe(200);
  return page.body;
}

const vectorOf = (faceId: string) => enrolled.find((r) => r.faceId === faceId)!.embedding;

describe('reading persons', () => {
  it('lists persons with names, face counts and last sighting; search by id or name; pages', async () => {
    const service = await startWithGallery();
    await sighting('ann', '2026-11-28T02:00:00Z', 0);
    await sighting('ann', '2026-11-29T03:00:00Z', 1);

    const all = await list(service);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ persons: 3, faces: 5, total: 3 });
    expect(all.body.items).toEqual([
      { personId: 'ann', name: 'Ann Smith', faces: 2, lastSeen: '2026-11-29T03:00:00.000Z' },
      { personId: 'bob', faces: 2 },
      { personId: 'cid', name: 'Cid', faces: 1 },
    ]);
    expect((await list(service, '?search=SMI')).body).toMatchObject({ total: 1, items: [{ personId: 'ann' }] });
    expect((await list(service, '?search=bO')).body).toMatchObject({ total: 1, items: [{ personId: 'bob' }] });
    expect((await list(service, '?search=nobody')).body).toMatchObject({ total: 0, items: [] });
    const page = await list(service, '?limit=1&offset=1');
    expect(page.body).toMatchObject({ total: 3, items: [{ personId: 'bob' }] });
    const tooLong = await list(service, `?search=${'x'.repeat(201)}`);
    expect([tooLong.status, tooLong.body.error?.code]).toEqual([400, 'BAD_REQUEST']);
    expect(tooLong.body.error?.message).toMatch(/^querystring: search /);
  });

  it('answers a person with their enrolled records; 404 names an unknown person', async () => {
    const service = await startWithGallery();
    const ann = await person(service, 'ann');
    expect(ann.status).toBe(200);
    expect(ann.body).toMatchObject({ personId: 'ann', name: 'Ann Smith', faces: ['f-p0-f0', 'f-p0-f1'] });
    expect(ann.body.enrolled.map((face) => face.faceId).sort()).toEqual(['f-p0-f0', 'f-p0-f1']);
    const record = enrolled.find((r) => r.faceId === 'f-p0-f0')!;
    expect(ann.body.enrolled.find((face) => face.faceId === 'f-p0-f0')).toEqual({
      faceId: record.faceId,
      sourceKey: record.sourceKey,
      source: record.source,
      box: record.box,
      score: record.score,
      quality: record.quality,
      enrolledAt: record.enrolledAt,
    });
    expect(service.service.faceRecord('f-p0-f0')).toMatchObject({ sourceKey: record.sourceKey, box: record.box });
    const unknown = await person(service, 'zed');
    expect([unknown.status, unknown.body.error?.code, unknown.body.error?.message]).toEqual([
      404,
      'NOT_FOUND',
      'person zed is not in the index',
    ]);
  });
});

describe('the API document', () => {
  it('describes the person routes from their zod schemas', async () => {
    const service = await startWithGallery();
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown; parameters?: { name: string }[] }>>;
    };
    expect(Object.keys(doc.paths['/v1/persons/{id}']).sort()).toEqual(['delete', 'get', 'patch']);
    expect(doc.paths['/v1/persons/{id}'].patch.requestBody).toBeDefined();
    expect(doc.paths['/v1/persons/{id}/merge'].post.requestBody).toBeDefined();
    expect(doc.paths['/v1/persons/{id}/faces'].post).toBeDefined();
    expect(doc.paths['/v1/persons/{id}/faces/{faceId}'].delete.parameters?.map((p) => p.name).sort()).toEqual([
      'faceId',
      'id',
    ]);
    expect(doc.paths['/v1/persons'].get.parameters?.map((p) => p.name)).toContain('search');
  });
});

describe('changing persons', () => {
  it('a read key gets 403 on every changing route', async () => {
    const service = await startWithGallery();
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } })
      .png()
      .toBuffer();
    const changes: [string, string, { json?: unknown; body?: Uint8Array; type?: string }][] = [
      ['PATCH', '/v1/persons/ann', { json: { name: 'X' } }],
      ['POST', '/v1/persons/ann/faces', { body: png, type: 'image/png' }],
      ['DELETE', '/v1/persons/ann/faces/f-p0-f0', {}],
      ['POST', '/v1/persons/ann/merge', { json: { into: 'bob' } }],
      ['DELETE', '/v1/persons/ann', {}],
    ];
    for (const [method, route, options] of changes) {
      const res = await call(service, method, route, { ...options, key: readKey });
      expect([res.status, res.body.error?.code], `${method} ${route}`).toEqual([403, 'FORBIDDEN']);
    }
    // Nothing changed.
    expect((await person(service, 'ann')).body).toMatchObject({ name: 'Ann Smith', faces: ['f-p0-f0', 'f-p0-f1'] });
  });

  it('refuses bad input, naming what was wrong', async () => {
    const service = await startWithGallery();
    const cases: [string, string, { json?: unknown; body?: Uint8Array; type?: string }, number, string, RegExp][] = [
      ['PATCH', '/v1/persons/zed', { json: { name: 'Zed' } }, 404, 'NOT_FOUND', /^person zed is not in the index$/],
      ['PATCH', '/v1/persons/ann', { json: { name: '  ' } }, 400, 'BAD_REQUEST', /^body: name must not be empty$/],
      ['PATCH', '/v1/persons/ann', { json: {} }, 400, 'BAD_REQUEST', /^body: name is required$/],
      ['PATCH', '/v1/persons/ann', { json: { name: 'a\nb' } }, 400, 'BAD_REQUEST', /control characters/],
      [
        'POST',
        '/v1/persons/ann/merge',
        { json: { into: 'ann' } },
        400,
        'BAD_REQUEST',
        /^body: into must name another person than ann$/,
      ],
      [
        'POST',
        '/v1/persons/ann/merge',
        { json: { into: 'zed' } },
        404,
        'NOT_FOUND',
        /^body: into: person zed is not in the index$/,
      ],
      [
        'POST',
        '/v1/persons/zed/merge',
        { json: { into: 'ann' } },
        404,
        'NOT_FOUND',
        /^person zed is not in the index$/,
      ],
      ['DELETE', '/v1/persons/ann/faces/f-p1-f0', {}, 404, 'NOT_FOUND', /^face f-p1-f0 is not a face of person ann$/],
      ['DELETE', '/v1/persons/zed/faces/f-p0-f0', {}, 404, 'NOT_FOUND', /^person zed is not in the index$/],
      [
        'POST',
        '/v1/persons/ann/faces',
        { body: Buffer.from('not an image at all'), type: 'image/jpeg' },
        400,
        'NOT_AN_IMAGE',
        /not an image/,
      ],
      [
        'POST',
        '/v1/persons/ann/faces',
        { body: new Uint8Array(0), type: 'image/jpeg' },
        400,
        'EMPTY_FILE',
        /empty file/,
      ],
      [
        'POST',
        '/v1/persons/zed/faces',
        { body: Buffer.from('x'), type: 'image/jpeg' },
        404,
        'NOT_FOUND',
        /^person zed/,
      ],
      [
        'POST',
        '/v1/persons/ann/faces',
        { json: { image: 'x' } },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        /^body: Content-Type application\/json is not accepted; send the image bytes/,
      ],
    ];
    for (const [method, route, options, status, code, message] of cases) {
      const res = await call(service, method, route, options);
      const what = `${method} ${route} ${JSON.stringify(options.json ?? '')}`;
      expect([res.status, res.body.error?.code], what).toEqual([status, code]);
      expect(res.body.error?.message, what).toMatch(message);
    }
    expect(await galleryFaces()).toEqual(
      new Map(enrolled.map((r) => [r.faceId, { personId: r.personId, name: r.name }])),
    );
  });

  it('rename: the name is in the gallery, the list, a replica, and survives a restart', async () => {
    const service = await startWithGallery();
    const replica = await start();
    const renamed = await call<Person>(service, 'PATCH', '/v1/persons/bob', { json: { name: '  Robert Jones ' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ personId: 'bob', name: 'Robert Jones', faces: ['f-p1-f0', 'f-p1-f1'] });

    // Gallery: every live record of bob carries the name; nobody else changed.
    const faces = await galleryFaces();
    expect(faces.get('f-p1-f0')).toEqual({ personId: 'bob', name: 'Robert Jones' });
    expect(faces.get('f-p1-f1')).toEqual({ personId: 'bob', name: 'Robert Jones' });
    expect(faces.get('f-p0-f0')).toEqual({ personId: 'ann', name: 'Ann Smith' });
    // Index: bob's faces are still bob's.
    expect((await nearest(service, [vectorOf('f-p1-f0')]))[0]).toEqual(
      expect.objectContaining({ personId: 'bob', faceId: 'f-p1-f0' }),
    );
    expect((await list(service, '?search=robert')).body.items).toEqual([
      { personId: 'bob', name: 'Robert Jones', faces: 2 },
    ]);
    // A replica learns it from the change log.
    await waitFor(
      'replica renamed',
      async () => (await list(replica, '?search=robert')).body.total === 1 || undefined,
      10_000,
    );

    // Restarts: from the snapshot the service writes on close, then from the gallery alone.
    for (const from of ['snapshot', 'gallery']) {
      const previous = running.pop()!;
      await previous.close();
      if (from === 'gallery') await rm(path.join(dir, 'facepipe/index'), { recursive: true, force: true });
      const again = await start();
      expect(again.service.status().loadedFrom, from).toMatch(new RegExp(`^${from}`));
      expect((await person(again, 'bob')).body, from).toMatchObject({
        name: 'Robert Jones',
        faces: ['f-p1-f0', 'f-p1-f1'],
      });
    }
  });

  it('merge: gallery, index and matches agree afterwards, here and on a replica', async () => {
    const service = await startWithGallery();
    const replica = await start();
    await sighting('ann', '2026-11-28T02:00:00Z', 0);
    await sighting('bob', '2026-11-29T02:00:00Z', 1);

    const merged = await call(service, 'POST', '/v1/persons/ann/merge', { json: { into: 'bob' } });
    expect(merged.status).toBe(200);
    expect(merged.body).toEqual({ personId: 'bob', moved: 2, sightings: 1 });

    // Gallery: ann's faces are bob's (same face ids), ann has none.
    const faces = await galleryFaces();
    expect([...faces].filter(([, f]) => f.personId === 'ann')).toEqual([]);
    expect(faces.get('f-p0-f0')?.personId).toBe('bob');
    expect(faces.get('f-p0-f1')?.personId).toBe('bob');
    // Matches: ann's sighting is bob's now, with its camera.
    expect((await sightings(service, 'ann')).total).toBe(0);
    const bobSeen = await sightings(service, 'bob');
    expect(bobSeen.items.map((item) => item.key).sort()).toEqual(['cctv/cam-01/0.jpg', 'cctv/cam-01/1.jpg']);
    const camera = await call<{ total: number }>(service, 'GET', '/v1/persons/bob/matches?camera=cam-01', {
      key: readKey,
    });
    expect(camera.body.total).toBe(2);

    for (const [name, svc] of [
      ['service', service],
      ['replica', replica],
    ] as const) {
      await waitFor(
        `${name} merged`,
        async () => ((await person(svc, 'ann')).status === 404 ? true : undefined),
        10_000,
      );
      // Index: ann's vectors find bob's faces; bob has all four.
      const hits = await nearest(svc, [vectorOf('f-p0-f0'), vectorOf('f-p0-f1')]);
      expect(
        hits.map((hit) => [hit.personId, hit.faceId]),
        name,
      ).toEqual([
        ['bob', 'f-p0-f0'],
        ['bob', 'f-p0-f1'],
      ]);
      const bob = await person(svc, 'bob');
      expect(bob.body.faces, name).toEqual(['f-p0-f0', 'f-p0-f1', 'f-p1-f0', 'f-p1-f1']);
      expect(bob.body.enrolled.map((face) => face.faceId).sort(), name).toEqual(bob.body.faces);
      expect((await list(svc)).body, name).toMatchObject({ persons: 2, faces: 5, total: 2 });
    }

    // A rebuild of the matches from the result files (which still name ann) files them under bob.
    expect(
      await matches.rebuild(storage, undefined, await gallery.deletedPersons(), await gallery.mergedPersons()),
    ).toMatchObject({ results: 2, faces: 2 });
    expect((await sightings(service, 'ann')).total).toBe(0);
    expect((await sightings(service, 'bob')).total).toBe(2);

    // Erased: no segment line of ann is left once the deletion's compaction ran.
    await waitFor(
      'ann erased from the segments',
      async () => ((await segmentLines()).every((line) => line.personId !== 'ann') ? true : undefined),
      10_000,
    );
  });

  it('face removal: gallery, index and matches agree afterwards, here and on a replica', async () => {
    const service = await startWithGallery();
    const replica = await start();
    await sighting('ann', '2026-11-28T02:00:00Z', 0);
    await sighting('cid', '2026-11-28T03:00:00Z', 1);

    const removed = await call(service, 'DELETE', '/v1/persons/ann/faces/f-p0-f1');
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ personId: 'ann', faceId: 'f-p0-f1', removed: 1 });

    const faces = await galleryFaces();
    expect(faces.has('f-p0-f1')).toBe(false);
    expect(faces.get('f-p0-f0')?.personId).toBe('ann');
    for (const [name, svc] of [
      ['service', service],
      ['replica', replica],
    ] as const) {
      await waitFor(
        `${name} removed the face`,
        async () => ((await person(svc, 'ann')).body.faces.length === 1 ? true : undefined),
        10_000,
      );
      const ann = await person(svc, 'ann');
      expect(ann.body.faces, name).toEqual(['f-p0-f0']);
      expect(
        ann.body.enrolled.map((face) => face.faceId),
        name,
      ).toEqual(['f-p0-f0']);
      // Index: the removed face is never found again; its nearest is ann's other face.
      expect((await nearest(svc, [vectorOf('f-p0-f1')]))[0], name).toMatchObject({
        personId: 'ann',
        faceId: 'f-p0-f0',
      });
      expect((await list(svc)).body, name).toMatchObject({ persons: 3, faces: 4 });
    }
    // Matches: ann is still enrolled, so her sightings stay.
    expect((await sightings(service, 'ann')).total).toBe(1);

    // The last face takes the person, and their sightings, with it.
    const last = await call(service, 'DELETE', '/v1/persons/cid/faces/f-p2-f0');
    expect(last.status).toBe(200);
    expect((await person(service, 'cid')).status).toBe(404);
    expect((await galleryFaces()).has('f-p2-f0')).toBe(false);
    expect((await sightings(service, 'cid')).total).toBe(0);
    expect((await list(service)).body).toMatchObject({ persons: 2, faces: 3 });

    await waitFor(
      'the faces erased from the segments',
      async () =>
        (await segmentLines()).every((line) => line.faceId !== 'f-p0-f1' && line.faceId !== 'f-p2-f0')
          ? true
          : undefined,
      10_000,
    );
  });

  it('a photo upload is stored in the deployment and queued for the enroll workers', async () => {
    const service = await startWithGallery();
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#a85' } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.append('photo', new Blob([png], { type: 'image/png' }), 'ann.png');
    const res = await fetch(`${service.url}/v1/persons/ann/faces`, {
      method: 'POST',
      headers: { 'x-api-key': adminKey },
      body: form,
    });
    const body = (await res.json()) as { personId: string; queued: { key: string; jobId: string }[] };
    expect(res.status).toBe(202);
    expect(body.personId).toBe('ann');
    expect(body.queued).toHaveLength(1);
    const [{ key, jobId }] = body.queued;
    expect(key).toMatch(/^facepipe\/uploads\/ann\/[0-9TZ]+-[0-9a-f]{16}\.png$/);
    expect(Buffer.from(await storage.get(key)).equals(png)).toBe(true);

    const queue = new Queue<EnrollJobData>(QUEUE_NAMES.enroll, queueConnectionOptions(config));
    queues.push(queue);
    const job = await queue.getJob(jobId);
    expect(job?.data.items).toEqual([
      { key, personId: 'ann', name: 'Ann Smith', etag: (await storage.head(key))!.etag, size: png.length },
    ]);
    expect(job?.data.model).toBe(model.id);
  });
});
