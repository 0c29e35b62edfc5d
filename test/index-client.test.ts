import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { ImageAnalysis } from '../src/engine/engine-types.js';
import { FaceError } from '../src/errors/face-error.js';
import type { ImageInput } from '../src/engine/types.js';
import { FaceIndex } from '../src/index/face-index.js';
import { IndexClient } from '../src/index/index-client.js';
import { buildIndexServer, type IndexServerOptions } from '../src/index/index-http-server.js';
import { IndexServiceError } from '../src/index/index-service-error.js';
import { clusteredFaces, noisy, prng } from './support/synthetic-embeddings.js';

const DIM = 8;
const THRESHOLD = 0.65;

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** A real server on a free port over 5 synthetic persons (p0..p4) x 2 faces; returns a client of it. */
async function serve(overrides: Partial<IndexServerOptions> = {}) {
  const rand = prng(11);
  const sigma = 0.2 / Math.sqrt(DIM);
  const index = new FaceIndex({ dim: DIM });
  const { faces, centres } = clusteredFaces(rand, { dim: DIM, persons: 5, perPerson: 2, sigma });
  index.add(faces);
  const probes = centres.map((c) => noisy(rand, c, sigma));
  const app = buildIndexServer({ index, threshold: THRESHOLD, ...overrides });
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return { client: new IndexClient(`${baseUrl}/`), baseUrl, index, probes };
}

/** The IndexServiceError `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<IndexServiceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IndexServiceError);
  return err as IndexServiceError;
}

/** A stand-in engine: a face per embedding given, and the inputs it was called with. */
function fakeEngine(embeddings: number[][]) {
  const calls: ImageInput[] = [];
  const analyze = async (input: ImageInput): Promise<ImageAnalysis> => {
    calls.push(input);
    const bytes = typeof input === 'string' ? Buffer.alloc(0) : Buffer.from(input.bytes);
    if (bytes.toString('latin1').startsWith('junk'))
      throw new FaceError('NOT_AN_IMAGE', `${typeof input === 'string' ? input : input.name}: not an image`);
    return {
      width: 640,
      height: 480,
      facesDetected: embeddings.length,
      faces: embeddings.map((e, i) => ({
        box: { x: 10 * i, y: 20, width: 100, height: 120 },
        score: 0.9,
        landmarks: [[1, 2]],
        quality: { size: 100, blur: 0.2, pose: 0.1 },
        embedding: Float32Array.from(e),
      })),
    };
  };
  return { analyze, calls };
}

describe('IndexClient', () => {
  it('search: the nearest faces per vector', async () => {
    const { client, probes } = await serve();
    const { results } = await client.search([probes[3], Float32Array.from(probes[1])], 3);
    expect(results).toHaveLength(2);
    expect(results.map((r) => r.length)).toEqual([3, 3]);
    expect(results[0].slice(0, 2).map((h) => h.personId)).toEqual(['p3', 'p3']);
    expect(results[1][0].personId).toBe('p1');
  });

  it('persons, person and deletePerson', async () => {
    const { client } = await serve();
    expect(await client.persons()).toEqual({
      persons: 5,
      faces: 10,
      items: ['p0', 'p1', 'p2', 'p3', 'p4'].map((personId) => ({ personId, faces: 2 })),
    });
    expect((await client.persons({ limit: 2, offset: 1 })).items.map((p) => p.personId)).toEqual(['p1', 'p2']);
    expect(await client.person('p2')).toEqual({ personId: 'p2', faces: ['p2-f0', 'p2-f1'] });
    expect(await client.deletePerson('p2')).toEqual({ personId: 'p2', removed: 2 });
    const gone = await failure(client.person('p2'));
    expect(gone).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(gone.message).toContain('p2');
    expect(await failure(client.deletePerson('p2'))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect((await client.persons()).persons).toBe(4);
  });

  it('encodes person ids in the path', async () => {
    const { client, index } = await serve();
    index.add([{ faceId: 'odd-f0', personId: 'Jane.Doe@x_1-2', embedding: Array(DIM).fill(1 / Math.sqrt(DIM)) }]);
    expect(await client.person('Jane.Doe@x_1-2')).toEqual({ personId: 'Jane.Doe@x_1-2', faces: ['odd-f0'] });
    expect(await client.deletePerson('Jane.Doe@x_1-2')).toEqual({ personId: 'Jane.Doe@x_1-2', removed: 1 });
    // An id outside the person-id rule reaches the route as one parameter (encoded) and is refused by the rule.
    const odd = await failure(client.person('Jane Doe/ü?#'));
    expect(odd).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(odd.message).toMatch(/person id holds only/);
  });

  it('non-2xx answers throw IndexServiceError with the status, code and message of the error body', async () => {
    const { client } = await serve();
    const bad = await failure(client.search([[0.1, 0.2]], 3));
    expect(bad).toMatchObject({ status: 400, code: 'BAD_REQUEST', name: 'IndexServiceError' });
    expect(bad.message).toMatch(/vectors\[0\] has 2 values, the index dimension is 8/);
    expect(await failure(client.persons({ limit: 0 }))).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
  });

  it('health and ready', async () => {
    let isReady = false;
    const { client } = await serve({ ready: () => isReady });
    expect(await client.health()).toEqual({ status: 'ok' });
    expect(await client.ready()).toBe(false);
    isReady = true;
    expect(await client.ready()).toBe(true);
  });

  it('identify and verify send the image bytes and return the answers', async () => {
    const engine = fakeEngine([]);
    const { client, probes } = await serve({ analyze: (input) => engine.analyze(input) });
    // Face 0 is p1 (a probe near p1's centre), face 1 is far from everyone (the negated probe).
    const far = probes[1].map((x) => -x);
    const withFaces = fakeEngine([probes[1], far]);
    const app2 = await serve({ analyze: (input) => withFaces.analyze(input) });
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0, 1, 2, 3, 250]);

    const identified = await app2.client.identify(bytes, 2, { name: 'probe.jpg' });
    expect(withFaces.calls).toHaveLength(1);
    const sent = withFaces.calls[0] as { bytes: Uint8Array; name: string };
    expect(Buffer.from(sent.bytes).equals(Buffer.from(bytes))).toBe(true);
    expect(sent.name).toBe('probe.jpg');
    expect(identified).toMatchObject({ width: 640, height: 480, threshold: THRESHOLD });
    expect(identified.faces).toHaveLength(2);
    expect(identified.faces[0].personId).toBe('p1');
    expect(identified.faces[0].matches.map((m) => m.personId)).toEqual(['p1', expect.any(String)]);
    expect(identified.faces[0].matches[1].personId).not.toBe('p1');
    expect(identified.faces[1].personId).toBeNull();

    expect(await app2.client.verify('p1', bytes)).toMatchObject({
      personId: 'p1',
      match: true,
      faceIndex: 0,
      threshold: THRESHOLD,
    });
    expect(await app2.client.verify('p3', bytes)).toMatchObject({ personId: 'p3', match: false });
    expect(await failure(app2.client.verify('nobody', bytes))).toMatchObject({ status: 404, code: 'NOT_FOUND' });

    // No face: an empty identification, and no match.
    expect(await client.identify(bytes)).toEqual({ width: 640, height: 480, threshold: THRESHOLD, faces: [] });
    expect(await client.verify('p0', bytes)).toEqual({
      personId: 'p0',
      match: false,
      distance: null,
      threshold: THRESHOLD,
      faceIndex: null,
    });
  });

  it('an image the engine refuses: 400 with its code; no engine: 503 ENGINE_UNAVAILABLE', async () => {
    const engine = fakeEngine([]);
    const { client } = await serve({ analyze: (input) => engine.analyze(input) });
    const refused = await failure(client.identify(Buffer.from('junk bytes'), 5, { name: 'notes.txt' }));
    expect(refused).toMatchObject({ status: 400, code: 'NOT_AN_IMAGE', message: 'notes.txt: not an image' });

    const noEngine = await serve();
    const unavailable = await failure(noEngine.client.identify(new Uint8Array([1, 2, 3])));
    expect(unavailable).toMatchObject({ status: 503, code: 'ENGINE_UNAVAILABLE' });
    expect(await failure(noEngine.client.verify('p0', new Uint8Array([1])))).toMatchObject({
      status: 503,
      code: 'ENGINE_UNAVAILABLE',
    });
  });

  it('no service at the URL: UNREACHABLE, naming the URL and how to start one', async () => {
    const { baseUrl } = await serve();
    await apps.pop()!.close(); // the port is free again: nothing answers there
    const err = await failure(new IndexClient(baseUrl).persons());
    expect(err.status).toBeNull();
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toContain(`no index service answers at ${baseUrl}`);
    expect(err.message).toContain('facepipe serve');
    expect(err.message).toContain('FACEPIPE_INDEX_URL');
  });

  it('times out with TIMEOUT when the service does not answer in time', async () => {
    const { baseUrl } = await serve({
      analyze: () =>
        new Promise<ImageAnalysis>((resolve) =>
          setTimeout(() => resolve({ width: 1, height: 1, facesDetected: 0, faces: [] }), 2000),
        ),
    });
    const err = await failure(new IndexClient(baseUrl, { timeoutMs: 100 }).identify(new Uint8Array([1])));
    expect(err).toMatchObject({ status: null, code: 'TIMEOUT' });
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => new IndexClient('ftp://127.0.0.1:7070')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => new IndexClient('not a url')).toThrow();
  });
});
