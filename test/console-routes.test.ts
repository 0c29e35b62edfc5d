/**
 * The console's routes on a real index server (buildIndexServer + registerConsole), folder storage,
 * a real gallery and run store, real images through sharp: thumbnails and crops bounded, only the
 * keys the deployment's records name are read, runs with their counts and filters, the static
 * page public with its content-security policy, the images behind a key.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faceIdFor } from '../src/gallery/face-id.js';
import type { GalleryRecord } from '../src/gallery/gallery-record.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import type { ApiKeyRecord } from '../src/index/auth/api-key.js';
import { registerConsole } from '../src/index/console/register-console.js';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { PersonDirectory } from '../src/index/person-directory.js';
import { RunStore } from '../src/producers/run-store.js';
import { ResultStore } from '../src/results/result-store.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { canonicalStorageUrl } from '../src/storage/storage-url.js';
import { resultJson } from './support/result-json.js';
import { faceImage } from './support/sample-faces.js';

const MODEL = 'console-test-model';
const KEY = 'console-test-key';
let dir: string;
let app: FastifyInstance;
let index: FaceIndex;
let faceA: string;
let faceB: string;
let faceC: string;
let sourceUrl: string;
let galleryStore: GalleryStore;
let directory: PersonDirectory;

function record(personId: string, sourceKey: string, source: string): GalleryRecord {
  return {
    faceId: faceIdFor(source, sourceKey, 'etag', MODEL),
    personId,
    source,
    sourceKey,
    sourceEtag: 'etag',
    box: { x: 100, y: 100, width: 200, height: 240 },
    landmarks: [],
    score: 0.99,
    model: MODEL,
    embedding: personId === 'alice' ? [1, 0, 0, 0] : [0, 1, 0, 0],
    enrolledAt: '2026-11-28T10:00:00.000Z',
  };
}

const get = (url: string, key: string | null = KEY) =>
  app.inject({ method: 'GET', url, headers: key === null ? {} : { 'x-api-key': key } });

async function jpegSize(body: Buffer): Promise<[number, number]> {
  const { width = 0, height = 0, format } = await sharp(body).metadata();
  expect(format).toBe('jpeg');
  return [width, height];
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-console-routes-'));
  const sourceDir = path.join(dir, 'source');
  await mkdir(path.join(sourceDir, 'cam-1'), { recursive: true });
  const photo = await (await faceImage('A', 0.5)).resize(600, 600, { fit: 'cover' }).jpeg().toBuffer();
  await writeFile(path.join(sourceDir, 'alice.jpg'), photo);
  await writeFile(path.join(sourceDir, 'bob.jpg'), photo);
  // A 2400x1400 snapshot, one the run identified, and one of the same folder it never did.
  const snapshot = await sharp({ create: { width: 2400, height: 1400, channels: 3, background: '#345' } })
    .composite([{ input: photo, left: 300, top: 200 }])
    .jpeg()
    .toBuffer();
  await writeFile(path.join(sourceDir, 'cam-1', '0100.jpg'), snapshot);
  await writeFile(path.join(sourceDir, 'cam-1', '0200.jpg'), snapshot);
  await writeFile(path.join(sourceDir, 'cam-1', 'private.jpg'), snapshot);

  // A phone photo stored sideways with EXIF orientation 6: upright it is 300x600, red at the bottom.
  const upright = await sharp({ create: { width: 300, height: 600, channels: 3, background: '#0000ff' } })
    .composite([
      {
        input: await sharp({ create: { width: 200, height: 200, channels: 3, background: '#ff0000' } })
          .png()
          .toBuffer(),
        left: 50,
        top: 400,
      },
    ])
    .png()
    .toBuffer();
  await sharp(upright).rotate(270).withMetadata({ orientation: 6 }).jpeg().toFile(path.join(sourceDir, 'sideways.jpg'));

  const source = canonicalStorageUrl(sourceDir);
  const storage = new FolderStorage(path.join(dir, 'data'));
  const gallery = new GalleryStore(storage, MODEL);
  [sourceUrl, galleryStore] = [source, gallery];
  const alice = record('alice', 'alice.jpg', source);
  const bob = record('bob', 'bob.jpg', source);
  const carol = { ...record('carol', 'sideways.jpg', source), box: { x: 100, y: 450, width: 100, height: 100 } };
  [faceA, faceB, faceC] = [alice.faceId, bob.faceId, carol.faceId];
  await gallery.append([alice, bob, carol]);
  index = new FaceIndex({ dim: 4 });
  index.add([alice, bob, carol]);
  directory = new PersonDirectory();
  directory.addRecords([alice, bob, carol]);

  const runs = new RunStore(storage);
  await runs.save({
    run: 'night-1',
    source,
    since: null,
    watermark: null,
    snapshots: 3,
    createdAt: '2026-11-29T02:00:00.000Z',
    completedAt: '2026-11-29T02:20:00.000Z',
    jobs: [],
  });
  const results = new ResultStore(storage);
  await results.put(
    'night-1',
    resultJson('cam-1/0100.jpg', [
      { personId: 'alice', box: { x: 300, y: 200, width: 300, height: 360 } },
      { personId: null },
    ]),
  );
  await results.put('night-1', resultJson('cam-1/0200.jpg', [{ personId: 'bob' }]));
  await results.put('night-1', {
    ...resultJson('cam-1/0300.jpg', []),
    error: { code: 'NOT_AN_IMAGE', message: 'not an image' },
  });

  const bundleDir = path.join(dir, 'bundle');
  await mkdir(bundleDir);
  await writeFile(path.join(bundleDir, 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(path.join(bundleDir, 'app.js'), 'console.log(1)');
  const keyRecord: ApiKeyRecord = { id: 'k1', role: 'read', sha256: '', created: '', source: 'env' };
  app = buildIndexServer({
    index,
    threshold: 0.6,
    auth: { keys: { size: 1, verify: (k) => (k === KEY ? keyRecord : undefined) }, openWhileNoKeys: false },
  });
  registerConsole(app, {
    storage,
    index: () => index,
    faceRecord: async (faceId) => directory.faceRecord(faceId),
    maxPixels: 16_000_000,
    bundleDir,
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('console image routes', () => {
  it("cut an enrolled face's thumbnail from its photo, square and bounded", async () => {
    const response = await get(`/v1/faces/${faceA}/thumbnail`);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('image/jpeg');
    expect(response.headers['cache-control']).toMatch(/^private/);
    expect(await jpegSize(response.rawPayload)).toEqual([128, 128]);
    expect(await jpegSize((await get(`/v1/faces/${faceA}/thumbnail?size=48`)).rawPayload)).toEqual([48, 48]);
    const tooLarge = await get(`/v1/faces/${faceA}/thumbnail?size=2000`);
    expect(tooLarge.statusCode).toBe(400);
    expect(tooLarge.json().error.code).toBe('BAD_REQUEST');
  });

  it('a face enrolled after the first thumbnail has its thumbnail at once', async () => {
    expect((await get(`/v1/faces/${faceA}/thumbnail?size=24`)).statusCode).toBe(200);
    // Another face of bob's photo (face index 1 in it).
    const dave = { ...record('dave', 'bob.jpg', sourceUrl), faceId: faceIdFor(sourceUrl, 'bob.jpg', 'etag', MODEL, 1) };
    await galleryStore.append([dave]);
    directory.addRecords([dave]);
    index.add([dave]);
    const response = await get(`/v1/faces/${dave.faceId}/thumbnail?size=24`);
    expect(response.statusCode, response.body).toBe(200);
  });

  it("crops in the photo's upright orientation (EXIF), where the engine found the box", async () => {
    const response = await get(`/v1/faces/${faceC}/thumbnail?size=32`);
    expect(response.statusCode, response.body).toBe(200);
    const [red, , blue] = (await sharp(response.rawPayload).stats()).channels;
    expect(red.mean).toBeGreaterThan(200);
    expect(blue.mean).toBeLessThan(60);
  });

  it("a person's thumbnail is one of their faces; unknown persons and faces are 404", async () => {
    const person = await get('/v1/persons/bob/thumbnail?size=64');
    expect(person.statusCode, person.body).toBe(200);
    expect(await jpegSize(person.rawPayload)).toEqual([64, 64]);
    expect((await get('/v1/persons/nobody/thumbnail')).json().error.code).toBe('NOT_FOUND');
    expect((await get(`/v1/faces/f${'0'.repeat(32)}/thumbnail`)).statusCode).toBe(404);
    expect((await get('/v1/faces/not-a-face-id/thumbnail')).statusCode).toBe(400);
  });

  it('a face the index no longer holds has no thumbnail, though its gallery record was read before', async () => {
    expect((await get(`/v1/faces/${faceB}/thumbnail?size=32`)).statusCode).toBe(200);
    index.removeFace(faceB);
    try {
      const gone = await get(`/v1/faces/${faceB}/thumbnail?size=40`);
      expect(gone.statusCode).toBe(404);
      expect(gone.json().error.message).toBe(`face ${faceB} is not in the gallery`);
    } finally {
      index.add([{ faceId: faceB, personId: 'bob', embedding: [0, 1, 0, 0] }]);
    }
  });

  it("a run's snapshot is bounded; a face crop comes from its result's box", async () => {
    const whole = await get(`/v1/runs/night-1/image?key=${encodeURIComponent('cam-1/0100.jpg')}`);
    expect(whole.statusCode, whole.body).toBe(200);
    expect(await jpegSize(whole.rawPayload)).toEqual([1280, 747]);
    const small = await get(`/v1/runs/night-1/image?key=cam-1%2F0100.jpg&size=300`);
    expect(await jpegSize(small.rawPayload)).toEqual([300, 175]);
    const crop = await get(`/v1/runs/night-1/image?key=cam-1%2F0100.jpg&face=0&size=96`);
    expect(await jpegSize(crop.rawPayload)).toEqual([96, 96]);
    expect((await get(`/v1/runs/night-1/image?key=cam-1%2F0100.jpg&face=5`)).statusCode).toBe(404);
  });

  it('reads only snapshots the run has a result for: never a key the client makes up', async () => {
    for (const key of ['cam-1/private.jpg', '../source/alice.jpg', 'alice.jpg', '/etc/passwd']) {
      const response = await get(`/v1/runs/night-1/image?key=${encodeURIComponent(key)}`);
      expect(response.statusCode, key).toBe(404);
      expect(response.json().error.message).toBe('run night-1 has no result for that snapshot');
    }
    expect((await get(`/v1/runs/night-2/image?key=cam-1%2F0100.jpg`)).statusCode).toBe(404);
    expect((await get(`/v1/runs/..%2Fx/image?key=a`)).statusCode).toBe(400);
  });

  it('need a key: faces are biometric data', async () => {
    for (const url of [`/v1/faces/${faceA}/thumbnail`, '/v1/persons/alice/thumbnail', '/v1/runs', '/v1/runs/night-1']) {
      const response = await get(url, null);
      expect(response.statusCode, url).toBe(401);
      expect(response.json().error.code).toBe('UNAUTHORIZED');
    }
    expect((await get(`/v1/runs/night-1/image?key=cam-1%2F0100.jpg`, 'wrong')).statusCode).toBe(401);
  });
});

describe('console runs routes', () => {
  it('list runs with the counts of their result files', async () => {
    const response = await get('/v1/runs');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      total: 1,
      items: [
        {
          run: 'night-1',
          source: expect.stringMatching(/^file:\/\//),
          createdAt: '2026-11-29T02:00:00.000Z',
          completedAt: '2026-11-29T02:20:00.000Z',
          snapshots: 3,
          counts: { results: 3, faces: 3, named: 2, unknown: 1, errors: 1 },
        },
      ],
    });
  });

  it("give a run's snapshots by key, filtered and paged, with each face's candidates", async () => {
    const all = (await get('/v1/runs/night-1')).json();
    expect(all.total).toBe(3);
    expect(all.items.map((s: { key: string }) => s.key)).toEqual([
      'cam-1/0100.jpg',
      'cam-1/0200.jpg',
      'cam-1/0300.jpg',
    ]);
    expect(all.items[0].faces[0]).toMatchObject({
      box: { x: 300, y: 200, width: 300, height: 360 },
      personId: 'alice',
      matches: [
        { personId: 'alice', distance: 0.3 },
        { personId: 'someone-else', distance: 0.9 },
      ],
    });
    const keys = async (query: string) =>
      (await get(`/v1/runs/night-1?${query}`)).json().items.map((s: { key: string }) => s.key);
    expect(await keys('filter=named')).toEqual(['cam-1/0100.jpg', 'cam-1/0200.jpg']);
    expect(await keys('filter=unknown')).toEqual(['cam-1/0100.jpg']);
    expect(await keys('filter=errors')).toEqual(['cam-1/0300.jpg']);
    expect(await keys('limit=1&offset=1')).toEqual(['cam-1/0200.jpg']);
    expect((await get('/v1/runs/night-1?filter=odd')).json().error.code).toBe('BAD_REQUEST');
    expect((await get('/v1/runs/night-9')).json().error).toEqual({ code: 'NOT_FOUND', message: 'no run night-9' });
  });
});

describe('console page', () => {
  it('is served at / without a key, offline: self-only content-security policy', async () => {
    const page = await get('/', null);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(page.headers['content-security-policy']).not.toMatch(/https?:/);
    const script = await get('/console/app.js', null);
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect((await get('/console/..%2F..%2Fpackage.json', null)).statusCode).toBe(404);
    expect((await get('/console/missing.js', null)).statusCode).toBe(404);
  });

  it('says how to build it when the bundle is missing', async () => {
    const bare = buildIndexServer({ index: new FaceIndex({ dim: 4 }), threshold: 0.6 });
    registerConsole(bare, {
      storage: new FolderStorage(dir),
      index: () => index,
      faceRecord: async () => undefined,
      maxPixels: 1000,
      bundleDir: path.join(dir, 'no-bundle'),
    });
    const response = await bare.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(503);
    expect(response.body).toMatch(/run `npm run build`/);
    await bare.close();
  });
});
