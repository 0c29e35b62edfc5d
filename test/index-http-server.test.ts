import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ImageAnalysis } from '../src/engine/engine-types.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { FaceIndex } from '../src/index/face-index.js';
import * as api from '../src/index/index-api-schemas.js';
import { buildIndexServer, type IndexServerOptions } from '../src/index/index-http-server.js';
import { clusteredFaces, noisy, prng } from './support/synthetic-embeddings.js';

const DIM = 8;

/** 6 persons (p0..p5) x 3 faces each; returns the index, the centres and a probe per person. */
function fixture(seed = 7) {
  const rand = prng(seed);
  const sigma = 0.2 / Math.sqrt(DIM);
  const index = new FaceIndex({ dim: DIM });
  const { faces, centres } = clusteredFaces(rand, { dim: DIM, persons: 6, perPerson: 3, sigma });
  index.add(faces);
  const probes = centres.map((c) => noisy(rand, c, sigma));
  return { index, probes };
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function server(overrides: Partial<IndexServerOptions> = {}) {
  const f = fixture();
  const app = buildIndexServer({ index: f.index, threshold: 0.65, ...overrides });
  apps.push(app);
  return { app, ...f };
}

type Hit = { personId: string; faceId: string; distance: number };

describe('POST /v1/search', () => {
  it('returns the right person first, Euclidean distances ascending', async () => {
    const { app, index, probes } = server();
    const res = await app.inject({ method: 'POST', url: '/v1/search', payload: { vectors: [probes[2]], k: 5 } });
    expect(res.statusCode).toBe(200);
    const { results } = res.json() as { results: Hit[][] };
    expect(results).toHaveLength(1);
    const hits = results[0];
    expect(hits).toHaveLength(5);
    expect(hits.slice(0, 3).map((h) => h.personId)).toEqual(['p2', 'p2', 'p2']);
    for (let i = 1; i < hits.length; i++) expect(hits[i].distance).toBeGreaterThanOrEqual(hits[i - 1].distance);
    // Euclidean, not squared: the same as the exact reference.
    const exact = index.exactSearch([probes[2]], 5)[0];
    expect(hits.map((h) => h.faceId)).toEqual(exact.map((h) => h.faceId));
    hits.forEach((h, i) => {
      expect(h.distance).toBeCloseTo(exact[i].distance, 5);
    });
    expect(Object.keys(hits[0]).sort()).toEqual(['distance', 'faceId', 'personId']);
  });

  it('defaults k to 5 and keeps query order in a batch', async () => {
    const { app, probes } = server();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/search',
      payload: { vectors: [probes[4], probes[0], probes[3]] },
    });
    expect(res.statusCode).toBe(200);
    const { results } = res.json() as { results: Hit[][] };
    expect(results.map((r) => r.length)).toEqual([5, 5, 5]);
    expect(results.map((r) => r[0].personId)).toEqual(['p4', 'p0', 'p3']);
  });

  it.each([
    ['missing vectors', { k: 3 }, /vectors is required/],
    ['empty vectors', { vectors: [] }, /vectors/],
    [
      'a vector of the wrong dimension',
      { vectors: [Array(DIM).fill(0.1), [0.1, 0.2, 0.3]] },
      /vectors\[1\] has 3 values, the index dimension is 8/,
    ],
    [
      'a non-number value',
      { vectors: [[0.1, 0.1, null, 0.1, 0.1, 0.1, 0.1, 0.1]] },
      /vectors\[0\]\[2\] must be number/,
    ],
    ['k = 0', { vectors: [Array(DIM).fill(0.1)], k: 0 }, /\bk must be >= 1/],
    ['k = 101', { vectors: [Array(DIM).fill(0.1)], k: 101 }, /\bk must be <= 100/],
    ['k not an integer', { vectors: [Array(DIM).fill(0.1)], k: '5' }, /\bk must be integer/],
    [
      'too many vectors',
      { vectors: Array.from({ length: 257 }, () => Array(DIM).fill(0.1)) },
      /vectors must NOT have more than 256 items/,
    ],
  ])('400 BAD_REQUEST naming the field for %s', async (_name, payload, message) => {
    const { app } = server();
    const res = await app.inject({ method: 'POST', url: '/v1/search', payload });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const body = res.json() as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BAD_REQUEST');
    expect(body.error.message).toMatch(message);
  });

  it('409 MODEL_MISMATCH for vectors of another model or adapter; the same model or none named is served', async () => {
    const { app, probes } = server({ model: 'facepipe-fused-v1' });
    const other = await app.inject({
      method: 'POST',
      url: '/v1/search',
      payload: { vectors: [probes[0]], model: 'facepipe-fused-v1+adapter-0123456789abcdef' },
    });
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('MODEL_MISMATCH');
    expect(other.json().error.message).toMatch(/adapter-0123456789abcdef.*facepipe-fused-v1/);
    for (const payload of [{ vectors: [probes[0]], model: 'facepipe-fused-v1' }, { vectors: [probes[0]] }]) {
      expect((await app.inject({ method: 'POST', url: '/v1/search', payload })).statusCode).toBe(200);
    }
  });

  it('400 JSON for a malformed JSON body', async () => {
    const { app } = server();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/search',
      headers: { 'content-type': 'application/json' },
      payload: '{"vectors": [',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });
});

describe('persons', () => {
  it('lists persons sorted with counts, paginated', async () => {
    const { app } = server();
    const all = await app.inject({ method: 'GET', url: '/v1/persons' });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({
      persons: 6,
      faces: 18,
      items: ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'].map((personId) => ({ personId, faces: 3 })),
    });
    const page = await app.inject({ method: 'GET', url: '/v1/persons?limit=2&offset=3' });
    expect(page.json()).toEqual({
      persons: 6,
      faces: 18,
      items: [
        { personId: 'p3', faces: 3 },
        { personId: 'p4', faces: 3 },
      ],
    });
    const past = await app.inject({ method: 'GET', url: '/v1/persons?offset=10' });
    expect(past.json()).toMatchObject({ persons: 6, items: [] });
  });

  it.each([['limit=0'], ['limit=1001'], ['limit=abc'], ['offset=-1']])(
    '400 for ?%s naming the parameter',
    async (qs) => {
      const { app } = server();
      const res = await app.inject({ method: 'GET', url: `/v1/persons?${qs}` });
      expect(res.statusCode).toBe(400);
      const body = res.json() as { error: { code: string; message: string } };
      expect(body.error.code).toBe('BAD_REQUEST');
      expect(body.error.message).toContain(qs.split('=')[0]);
    },
  );

  it('shows one person, 404 for an unknown one', async () => {
    const { app } = server();
    const res = await app.inject({ method: 'GET', url: '/v1/persons/p1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ personId: 'p1', faces: ['p1-f0', 'p1-f1', 'p1-f2'] });
    const missing = await app.inject({ method: 'GET', url: '/v1/persons/nobody' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('nobody') } });
  });

  it('delete: the gallery callback runs before the index forgets; search never returns the person again', async () => {
    const events: string[] = [];
    let index!: FaceIndex;
    const {
      app,
      probes,
      index: idx,
    } = server({
      onDeletePerson: async (personId) => {
        events.push(`callback:${personId}:faces=${index.personFaces(personId).length}`);
        await new Promise((r) => setTimeout(r, 5));
        events.push('callback-done');
      },
    });
    index = idx;
    const res = await app.inject({ method: 'DELETE', url: '/v1/persons/p2' });
    events.push('response');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ personId: 'p2', removed: 3 });
    expect(events).toEqual(['callback:p2:faces=3', 'callback-done', 'response']);
    expect(index.personFaces('p2')).toEqual([]);

    const search = await app.inject({ method: 'POST', url: '/v1/search', payload: { vectors: [probes[2]], k: 15 } });
    const { results } = search.json() as { results: Hit[][] };
    expect(results[0]).toHaveLength(15);
    expect(results[0].some((h) => h.personId === 'p2')).toBe(false);

    const again = await app.inject({ method: 'DELETE', url: '/v1/persons/p2' });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const list = await app.inject({ method: 'GET', url: '/v1/persons' });
    expect(list.json()).toMatchObject({ persons: 5, faces: 15 });
  });

  it('delete: a failing gallery callback leaves the index untouched and gives 500 INTERNAL', async () => {
    const { app, index } = server({
      onDeletePerson: async () => {
        throw new Error('storage down');
      },
    });
    const res = await app.inject({ method: 'DELETE', url: '/v1/persons/p1' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(index.personFaces('p1')).toHaveLength(3);
  });

  it('404 JSON for an unknown route', async () => {
    const { app } = server();
    const res = await app.inject({ method: 'GET', url: '/v1/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});

describe('health', () => {
  it('healthz is always ok; readyz follows ready()', async () => {
    let isReady = false;
    const { app } = server({ ready: () => isReady });
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const notReady = await app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    isReady = true;
    const readyRes = await app.inject({ method: 'GET', url: '/readyz' });
    expect(readyRes.statusCode).toBe(200);
    expect(readyRes.json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('readyz defaults to ready', async () => {
    const { app } = server();
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

/**
 * identify and verify with the real engine, on the face-api demo photos. sample1.jpg holds three
 * people (in detection order): they are enrolled as alice, bob and carol from that one photo.
 * Their pairwise distances are ~0.69-0.77, over the model threshold 0.65; a crop of one of them,
 * resized and brightened (a second image), stays within ~0.1 of their enrolled face.
 */
describe('identify and verify (real engine)', () => {
  const requireCjs = createRequire(import.meta.url);
  const DEMO = path.join(path.dirname(requireCjs.resolve('@vladmandic/face-api/package.json')), 'demo');
  const sample = (n: number) => path.join(DEMO, `sample${n}.jpg`);
  const NAMES = ['alice', 'bob', 'carol'] as const;
  const threshold = FACE_MODEL.threshold;

  let engine: FaceEngine;
  let sample1: ImageAnalysis;
  /** A portrait of sample1's face `i`: cropped around it, optionally mirrored or resized and brightened. */
  let portrait: (i: number, variant: 'mirror' | 'resize') => Promise<Buffer>;

  beforeAll(async () => {
    engine = await FaceEngine.start({ threads: 1 });
    sample1 = await engine.analyze(sample(1));
    expect(sample1.faces).toHaveLength(3);
    portrait = async (i, variant) => {
      const { box } = sample1.faces[i];
      const side = Math.round(Math.max(box.width, box.height) * 2.2);
      const left = Math.max(0, Math.round(box.x + box.width / 2 - side / 2));
      const top = Math.max(0, Math.round(box.y + box.height / 2 - side / 2));
      const crop = sharp(sample(1)).extract({
        left,
        top,
        width: Math.min(side, sample1.width - left),
        height: Math.min(side, sample1.height - top),
      });
      const image =
        variant === 'mirror' ? crop.flop() : crop.modulate({ brightness: 1.2 }).resize(Math.round(side * 0.7));
      return image.jpeg({ quality: 90 }).toBuffer();
    };
  });
  afterAll(async () => {
    await engine?.close();
  });

  /** A gallery of `persons` from sample1; alice also with a second face (her mirrored portrait). */
  async function gallery(persons: readonly (typeof NAMES)[number][] = NAMES) {
    const index = new FaceIndex({ dim: FACE_MODEL.embeddingSize });
    index.add(
      persons.map((personId) => ({
        faceId: `${personId}-f0`,
        personId,
        embedding: sample1.faces[NAMES.indexOf(personId)].embedding,
      })),
    );
    if (persons.includes('alice')) {
      const mirrored = await engine.analyze({ bytes: await portrait(0, 'mirror'), name: 'alice-mirror.jpg' });
      index.add([{ faceId: 'alice-f1', personId: 'alice', embedding: mirrored.faces[0].embedding }]);
    }
    return index;
  }

  function engineServer(index: FaceIndex, overrides: Partial<IndexServerOptions> = {}) {
    const app = buildIndexServer({ index, threshold, analyze: (input) => engine.analyze(input), ...overrides });
    apps.push(app);
    return app;
  }

  const post = (app: FastifyInstance, url: string, payload: Buffer | string, contentType = 'image/jpeg') =>
    app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });

  type Identified = {
    width: number;
    height: number;
    threshold: number;
    faces: Array<{ box: object; score: number; landmarks: number[][]; matches: Hit[]; personId: string | null }>;
  };

  function expectWellFormed(body: Identified, k: number, persons: number) {
    for (const face of body.faces) {
      expect(Object.keys(face).sort()).toEqual(['box', 'decision', 'landmarks', 'matches', 'personId', 'score']);
      expect(Object.keys(face.box).sort()).toEqual(['height', 'width', 'x', 'y']);
      expect(face.landmarks).toHaveLength(68);
      expect(face.matches).toHaveLength(Math.min(k, persons));
      // One entry per person, ascending.
      expect(new Set(face.matches.map((m) => m.personId)).size).toBe(face.matches.length);
      for (let i = 1; i < face.matches.length; i++)
        expect(face.matches[i].distance).toBeGreaterThanOrEqual(face.matches[i - 1].distance);
      for (const m of face.matches) expect(Object.keys(m).sort()).toEqual(['distance', 'faceId', 'personId']);
      // The decision rule: the best match within the threshold, else nobody.
      const best = face.matches[0];
      expect(face.personId).toBe(best && best.distance <= body.threshold ? best.personId : null);
    }
  }

  it('identifies an enrolled person in another image of them, with one match per person', async () => {
    const app = engineServer(await gallery());
    const res = await post(app, '/v1/identify?k=5', await portrait(0, 'resize'));
    expect(res.statusCode).toBe(200);
    const body = res.json() as Identified;
    expect(Object.keys(body).sort()).toEqual(['faces', 'height', 'threshold', 'width']);
    expect(body.threshold).toBe(threshold);
    expect(body.faces).toHaveLength(1);
    expectWellFormed(body, 5, 3);
    const [face] = body.faces;
    expect(face.personId).toBe('alice');
    expect(face.matches.map((m) => m.personId)).toEqual(['alice', expect.any(String), expect.any(String)]);
    expect(face.matches[0].distance).toBeLessThan(0.3);
    expect(['alice-f0', 'alice-f1']).toContain(face.matches[0].faceId);
    expect(face.matches[1].distance).toBeGreaterThan(threshold);
  });

  it('answers nobody (personId null) when the person is not enrolled', async () => {
    const app = engineServer(await gallery(['bob', 'carol']));
    const res = await post(app, '/v1/identify', await portrait(0, 'resize'));
    expect(res.statusCode).toBe(200);
    const body = res.json() as Identified;
    expectWellFormed(body, 5, 2);
    expect(body.faces[0].personId).toBeNull();
    expect(body.faces[0].matches[0].distance).toBeGreaterThan(threshold);
  });

  it('identifies every face of a group photo, k persons each', async () => {
    const app = engineServer(await gallery());
    const res = await post(app, '/v1/identify?k=2', await readFile(sample(1)), 'application/octet-stream');
    expect(res.statusCode).toBe(200);
    const body = res.json() as Identified;
    expect(body).toMatchObject({ width: sample1.width, height: sample1.height });
    expect(body.faces).toHaveLength(3);
    expectWellFormed(body, 2, 3);
    expect(body.faces.map((f) => f.personId)).toEqual([...NAMES]);
    for (const face of body.faces) expect(face.matches[0].distance).toBeLessThan(1e-3);
  });

  it('200 with faces [] for an image without a face', async () => {
    const app = engineServer(await gallery());
    const blank = await sharp({ create: { width: 250, height: 250, channels: 3, background: '#8a8a8a' } })
      .png()
      .toBuffer();
    const res = await post(app, '/v1/identify', blank, 'image/png');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ width: 250, height: 250, threshold, faces: [] });
  });

  it.each([
    ['bytes that are not an image', () => Buffer.from('this is not an image at all'), 'NOT_AN_IMAGE'],
    ['an empty body', () => Buffer.alloc(0), 'EMPTY_FILE'],
    ['a truncated JPEG', async () => (await readFile(sample(3))).subarray(0, 40_000), 'TRUNCATED_IMAGE'],
  ])('400 with the engine code for %s, on identify and verify', async (_name, body, code) => {
    const app = engineServer(await gallery(['bob']));
    const payload = await body();
    for (const url of ['/v1/identify?name=upload.jpg', '/v1/verify?personId=bob&name=upload.jpg']) {
      const res = await post(app, url, payload, 'application/octet-stream');
      expect(res.statusCode, url).toBe(400);
      const error = (res.json() as { error: { code: string; message: string } }).error;
      expect(error.code).toBe(code);
      expect(error.message).toContain('upload.jpg');
    }
  });

  it('verify: the person is in the image (the closest face decides), or is not', async () => {
    const app = engineServer(await gallery());
    const group = await readFile(sample(1));
    const yes = await post(app, '/v1/verify?personId=bob', group);
    expect(yes.statusCode).toBe(200);
    const body = yes.json() as { distance: number };
    expect(Object.keys(body).sort()).toEqual(['distance', 'faceIndex', 'match', 'personId', 'threshold']);
    expect(body).toMatchObject({ personId: 'bob', match: true, faceIndex: 1, threshold });
    expect(body.distance).toBeLessThan(1e-3);

    const other = await post(app, '/v1/verify?personId=alice', await portrait(0, 'resize'));
    expect(other.json()).toMatchObject({ personId: 'alice', match: true, faceIndex: 0 });
    expect((other.json() as { distance: number }).distance).toBeLessThan(0.3);

    const no = await post(app, '/v1/verify?personId=bob', await portrait(0, 'resize'));
    expect(no.statusCode).toBe(200);
    expect(no.json()).toMatchObject({ personId: 'bob', match: false, faceIndex: 0 });
    expect((no.json() as { distance: number }).distance).toBeGreaterThan(threshold);
  });

  it('verify: 404 for an unknown person, match false and distance null without a face', async () => {
    const app = engineServer(await gallery(['bob']));
    const missing = await post(app, '/v1/verify?personId=nobody', await readFile(sample(1)));
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('nobody') } });

    const blank = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#8a8a8a' } })
      .jpeg()
      .toBuffer();
    const res = await post(app, '/v1/verify?personId=bob', blank);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ personId: 'bob', match: false, distance: null, threshold, faceIndex: null });
  });

  it('400 for a missing personId or a bad k; 415 for a JSON body; 413 over the body limit', async () => {
    const app = engineServer(await gallery(['bob']), { maxImageBytes: 1000 });
    const image = await readFile(sample(1));
    const noPerson = await post(app, '/v1/verify', Buffer.from('x'));
    expect(noPerson.statusCode).toBe(400);
    expect(noPerson.json()).toMatchObject({
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('personId') },
    });
    for (const qs of ['k=0', 'k=101', 'k=abc']) {
      const res = await post(app, `/v1/identify?${qs}`, Buffer.from('x'));
      expect(res.statusCode, qs).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST', message: expect.stringContaining('k') } });
    }
    const json = await post(app, '/v1/identify', '{"image": "x"}', 'application/json');
    expect(json.statusCode).toBe(415);
    expect(json.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const big = await post(app, '/v1/identify', image);
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('503 ENGINE_UNAVAILABLE on identify and verify without an engine; the rest still works', async () => {
    const index = await gallery(['bob']);
    const app = buildIndexServer({ index, threshold });
    apps.push(app);
    const image = await readFile(sample(1));
    for (const url of ['/v1/identify', '/v1/verify?personId=bob', '/v1/verify?personId=nobody']) {
      const res = await post(app, url, image);
      expect(res.statusCode, url).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: 'ENGINE_UNAVAILABLE' } });
    }
    expect((await app.inject({ method: 'GET', url: '/v1/persons/bob' })).statusCode).toBe(200);
  });
});

describe('index given as a function', () => {
  it('each request reads the current index (a rebuilt one can be swapped in)', async () => {
    const first = fixture(7);
    const second = fixture(8);
    second.index.removePerson('p5');
    let index = first.index;
    const app = buildIndexServer({ index: () => index, threshold: 0.65 });
    apps.push(app);
    expect((await app.inject({ method: 'GET', url: '/v1/persons' })).json()).toMatchObject({ persons: 6, faces: 18 });
    index = second.index;
    expect((await app.inject({ method: 'GET', url: '/v1/persons' })).json()).toMatchObject({ persons: 5, faces: 15 });
    expect((await app.inject({ method: 'GET', url: '/v1/persons/p5' })).statusCode).toBe(404);
    const del = await app.inject({ method: 'DELETE', url: '/v1/persons/p1' });
    expect(del.json()).toEqual({ personId: 'p1', removed: 3 });
    expect(first.index.personFaces('p1')).toHaveLength(3);
    expect(second.index.personFaces('p1')).toHaveLength(0);
  });
});

describe('API schemas', () => {
  it('each one converts to JSON Schema for an OpenAPI document (requests as input, answers as output)', () => {
    const schemas = Object.entries(api as Record<string, unknown>).filter(
      (entry): entry is [string, z.ZodType] => entry[1] instanceof z.ZodType,
    );
    expect(schemas.length).toBeGreaterThan(15);
    for (const [name, schema] of schemas) {
      const io = /(Query|Params|Body)Schema$/.test(name) && name !== 'apiErrorBodySchema' ? 'input' : 'output';
      expect(() => z.toJSONSchema(schema, { io, target: 'openapi-3.0' }), name).not.toThrow();
    }
  });
});
