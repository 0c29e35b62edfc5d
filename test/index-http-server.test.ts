import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FaceIndex } from '../src/index/face-index.js';
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
    hits.forEach((h, i) => expect(h.distance).toBeCloseTo(exact[i].distance, 5));
    expect(Object.keys(hits[0]).sort()).toEqual(['distance', 'faceId', 'personId']);
  });

  it('defaults k to 5 and keeps query order in a batch', async () => {
    const { app, probes } = server();
    const res = await app.inject({ method: 'POST', url: '/v1/search', payload: { vectors: [probes[4], probes[0], probes[3]] } });
    expect(res.statusCode).toBe(200);
    const { results } = res.json() as { results: Hit[][] };
    expect(results.map((r) => r.length)).toEqual([5, 5, 5]);
    expect(results.map((r) => r[0].personId)).toEqual(['p4', 'p0', 'p3']);
  });

  it.each([
    ['missing vectors', { k: 3 }, /vectors is required/],
    ['empty vectors', { vectors: [] }, /vectors/],
    ['a vector of the wrong dimension', { vectors: [Array(DIM).fill(0.1), [0.1, 0.2, 0.3]] }, /vectors\[1\] has 3 values, the index dimension is 8/],
    ['a non-number value', { vectors: [[0.1, 0.1, null, 0.1, 0.1, 0.1, 0.1, 0.1]] }, /vectors\[0\]\[2\] must be number/],
    ['k = 0', { vectors: [Array(DIM).fill(0.1)], k: 0 }, /\bk must be >= 1/],
    ['k = 101', { vectors: [Array(DIM).fill(0.1)], k: 101 }, /\bk must be <= 100/],
    ['k not an integer', { vectors: [Array(DIM).fill(0.1)], k: '5' }, /\bk must be integer/],
    ['too many vectors', { vectors: Array.from({ length: 257 }, () => Array(DIM).fill(0.1)) }, /vectors must NOT have more than 256 items/],
  ])('400 BAD_REQUEST naming the field for %s', async (_name, payload, message) => {
    const { app } = server();
    const res = await app.inject({ method: 'POST', url: '/v1/search', payload });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const body = res.json() as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BAD_REQUEST');
    expect(body.error.message).toMatch(message);
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

  it.each([['limit=0'], ['limit=1001'], ['limit=abc'], ['offset=-1']])('400 for ?%s naming the parameter', async (qs) => {
    const { app } = server();
    const res = await app.inject({ method: 'GET', url: `/v1/persons?${qs}` });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BAD_REQUEST');
    expect(body.error.message).toContain(qs.split('=')[0]);
  });

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
    const { app, probes, index: idx } = server({
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
