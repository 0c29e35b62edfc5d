/**
 * The 1:N decision does not depend on k (issue 20): the index service (POST /v1/search with
 * persons, POST /v1/identify) and the identify job handler decide on the rule's own runners-up,
 * whatever number of persons the caller shows; a face beyond the 1:1 threshold is never named; the
 * rule's settings come as query parameters and every face carries the rule's score.
 * Synthetic embeddings; the "images" are JSON vectors read by an analyzer double (the point here is
 * the decision, not the engine, which test/identify-pipeline.test.ts runs for real).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { EmbeddingModel } from '../src/engine/embedding-model.js';
import type { ImageAnalysis } from '../src/engine/engine-types.js';
import type { FaceAnalyzer } from '../src/engine/face-analyzer.js';
import type { ImageInput } from '../src/engine/types.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { identificationScore, type PersonMatch } from '../src/identification/identification-rule.js';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer, type IndexServerOptions } from '../src/index/index-http-server.js';
import { ResultStore } from '../src/results/result-store.js';
import { parseResultFile } from '../src/results/result-schema.js';
import { openStorage } from '../src/storage/open-storage.js';
import { IdentifyJobHandler } from '../src/workers/identify-job-handler.js';
import { gaussian, noisy, prng, unit } from './support/synthetic-embeddings.js';

const DIM = 8;
/** A rule under which the bug showed: with no runner-up the margin is MAX_MARGIN, 0.45 off the distance. */
const RULE = { threshold: 0.4, marginWeight: 1.5 };
/** A loose 1:1 threshold, so that the margin rule (not the cap) decides in the k test. */
const LOOSE = 1.0;

/**
 * 2 families of 6 look-alike persons (p0..p11) x 2 faces; probes: one new photo of each person,
 * and 40 strangers who look like a family, about as close to several of its persons: ambiguous.
 */
function fixture() {
  const rand = prng(11);
  const faceNoise = 0.1 / Math.sqrt(DIM);
  const family = 0.55 / Math.sqrt(DIM);
  const bases = [0, 1].map(() => unit(Array.from({ length: DIM }, () => gaussian(rand))));
  const centres = Array.from({ length: 12 }, (_, p) => noisy(rand, bases[p % 2], family));
  const index = new FaceIndex({ dim: DIM });
  index.add(
    centres.flatMap((c, p) =>
      [0, 1].map((f) => ({ faceId: `p${p}-f${f}`, personId: `p${p}`, embedding: noisy(rand, c, faceNoise) })),
    ),
  );
  const mated = centres.map((c) => noisy(rand, c, faceNoise));
  const strangers = Array.from({ length: 40 }, (_, i) => noisy(rand, bases[i % 2], family));
  return { index, probes: [...mated, ...strangers] };
}

/** The "image": JSON vectors, one face each. */
const image = (vectors: number[][]) => Buffer.from(JSON.stringify(vectors));
const analyzeDouble = async (input: ImageInput): Promise<ImageAnalysis> => {
  if (typeof input === 'string' || !('bytes' in input)) throw new Error('the double reads bytes only');
  const bytes = input.bytes;
  const vectors = JSON.parse(Buffer.from(bytes).toString('utf8')) as number[][];
  return {
    width: 100,
    height: 100,
    facesDetected: vectors.length,
    faces: vectors.map((v, i) => ({
      box: { x: i, y: 0, width: 10, height: 10 },
      score: 0.9,
      landmarks: Array.from({ length: 68 }, (_, j) => [j % 10, Math.floor(j / 10)] as [number, number]),
      quality: { size: 10, blur: 0, pose: 0 },
      embedding: Float32Array.from(v),
    })),
  };
};

const apps: FastifyInstance[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
afterAll(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function server(index: FaceIndex, options: Partial<IndexServerOptions> = {}) {
  const app = buildIndexServer({ index, threshold: LOOSE, rule: RULE, analyze: analyzeDouble, ...options });
  apps.push(app);
  return app;
}

type Decision = { score: number | null; threshold: number; marginWeight: number; maxDistance: number };
type SearchAnswer = { results: PersonMatch[][]; decisions: Array<Decision & { personId: string | null }> };
type IdentifyAnswer = {
  threshold: number;
  faces: Array<{ matches: PersonMatch[]; personId: string | null; decision: Decision }>;
};

describe('the 1:N decision, whatever k', () => {
  it('is the same for k = 1..10 through /v1/search and /v1/identify, and made on the runners-up', async () => {
    const { index, probes } = fixture();
    const app = server(index);
    const byK: Array<{ search: SearchAnswer; identify: IdentifyAnswer }> = [];
    for (let k = 1; k <= 10; k++) {
      const search = await app.inject({
        method: 'POST',
        url: '/v1/search',
        payload: { vectors: probes, k, persons: true },
      });
      expect(search.statusCode).toBe(200);
      const identify = await app.inject({
        method: 'POST',
        url: `/v1/identify?k=${k}`,
        headers: { 'content-type': 'image/jpeg' },
        payload: image(probes),
      });
      expect(identify.statusCode).toBe(200);
      byK.push({ search: search.json(), identify: identify.json() });
    }
    const reference = byK[0].search.decisions;
    byK.forEach(({ search, identify }, i) => {
      const k = i + 1;
      expect(search.results.every((r) => r.length === k)).toBe(true);
      expect(identify.faces.every((f) => f.matches.length === k)).toBe(true);
      expect(search.decisions).toEqual(reference);
      expect(identify.faces.map((f) => ({ personId: f.personId, ...f.decision }))).toEqual(reference);
    });
    // The decision is the rule's on the full per-person list (exact search: every person).
    const exact = index.exactSearch(probes, index.size);
    for (const [p, d] of reference.entries()) expect(d.score).toBeCloseTo(identificationScore(exact[p], RULE)!, 5);
    // Meaningful: enrolled people are named, and some strangers left unknown WOULD have been named
    // on a list cut to one person (no runner-up: the margin defaults to its maximum).
    const named = reference.map((d) => d.personId);
    expect(named.slice(0, 12)).toEqual(Array.from({ length: 12 }, (_, p) => `p${p}`));
    const wouldHaveBeenNamed = exact.filter(
      (hits, p) => named[p] === null && identificationScore(hits.slice(0, 1), RULE)! <= RULE.threshold,
    );
    expect(wouldHaveBeenNamed.length).toBeGreaterThanOrEqual(5);
  });

  it('is the same in the identify job handler, which writes the score next to the distance in each result', async () => {
    const { index, probes } = fixture();
    const app = server(index);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-decision-'));
    dirs.push(dir);
    const storage = openStorage(path.join(dir, 'data'));
    const source = openStorage(path.join(dir, 'night'));
    const items = await Promise.all(
      probes.map(async (v, i) => {
        const key = `snap-${String(i).padStart(2, '0')}.jpg`;
        const { etag } = await source.put(key, image([v]));
        return { key, etag, size: 1, modified: new Date(0).toISOString() };
      }),
    );
    const model: EmbeddingModel = { ...FACE_MODEL, embeddingSize: DIM, threshold: LOOSE };
    const analyzer: FaceAnalyzer = { model, backend: 'onnx (test)', analyze: analyzeDouble };
    const searchedK: number[] = [];
    const handler = new IdentifyJobHandler({
      analyzer,
      results: new ResultStore(storage),
      storageUrl: storage.url,
      model,
      rule: () => RULE,
      openSource: () => source,
      search: async (vectors, k) => {
        searchedK.push(k);
        const res = await app.inject({
          method: 'POST',
          url: '/v1/search',
          payload: { vectors: vectors.map((v) => [...v]), k, persons: true },
        });
        return (res.json() as SearchAnswer).results;
      },
    });
    const outcome = await handler.handle('job-1', {
      storageUrl: storage.url,
      sourceUrl: source.url,
      model: model.id,
      run: 'night',
      items,
    });
    const served = (
      await app.inject({ method: 'POST', url: '/v1/search', payload: { vectors: probes, k: 1, persons: true } })
    ).json() as SearchAnswer;
    const identified = served.decisions.filter((d) => d.personId !== null).length;
    expect(identified).toBeLessThan(probes.length);
    expect(outcome).toEqual({ snapshots: probes.length, failed: 0, faces: probes.length, identified });
    expect(searchedK.every((k) => k >= 5)).toBe(true);
    for (const [i, item] of items.entries()) {
      const result = parseResultFile(await storage.get(`facepipe/results/night/${item.key}.json`));
      const [face] = result.faces;
      expect(face.personId).toBe(served.decisions[i].personId);
      expect(face.decision).toMatchObject({ threshold: 0.4, marginWeight: 1.5, maxDistance: LOOSE });
      expect(face.decision!.score).toBeCloseTo(served.decisions[i].score!, 4);
      expect(result.model.threshold).toBe(0.4);
      expect(result.model.backend).toBe('onnx (test)');
    }
  });
});

describe('the 1:1 threshold caps the 1:N decision', () => {
  it('never names a face farther than the 1:1 threshold from its closest person, whatever the margin', async () => {
    // One person enrolled (the margin is its maximum) and probes at known distances from her.
    const index = new FaceIndex({ dim: 2 });
    index.add([{ faceId: 'a-1', personId: 'alice', embedding: [1, 0] }]);
    const at = (d: number) => {
      const angle = 2 * Math.asin(d / 2); // chord d on the unit circle
      return [Math.cos(angle), Math.sin(angle)];
    };
    const app = server(index, { threshold: 0.65, rule: { threshold: 0.32, marginWeight: 1.5 } });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/identify?k=1',
      headers: { 'content-type': 'image/jpeg' },
      payload: image([at(0.6), at(0.7), at(0.77)]),
    });
    const body = res.json() as IdentifyAnswer;
    expect(body.faces.map((f) => f.personId)).toEqual(['alice', null, null]);
    // Their scores are all under the threshold: only the cap refuses the last two.
    for (const face of body.faces) {
      expect(face.decision.score!).toBeLessThanOrEqual(0.32);
      expect(face.decision.maxDistance).toBe(0.65);
    }
  });
});

describe('the rule settings as query parameters', () => {
  it('overrides the threshold and margin weight for one request, and refuses bad values by name', async () => {
    const { index, probes } = fixture();
    const app = server(index);
    const post = (query: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/identify?k=3${query}`,
        headers: { 'content-type': 'image/jpeg' },
        payload: image(probes.slice(0, 3)),
      });
    const strict = (await post('&threshold=0&marginWeight=0')).json() as IdentifyAnswer;
    expect(strict.threshold).toBe(0);
    expect(strict.faces.map((f) => f.personId)).toEqual([null, null, null]);
    const plain = (await post('&threshold=0.9&marginWeight=0')).json() as IdentifyAnswer;
    expect(plain.faces.map((f) => f.personId)).toEqual(['p0', 'p1', 'p2']);
    for (const f of plain.faces) expect(f.decision.score).toBeCloseTo(f.matches[0].distance, 6);

    const search = await app.inject({
      method: 'POST',
      url: '/v1/search?threshold=0&marginWeight=0',
      payload: { vectors: probes.slice(0, 2), persons: true },
    });
    expect((search.json() as SearchAnswer).decisions.map((d) => d.personId)).toEqual([null, null]);

    for (const [query, name] of [
      ['&threshold=abc', 'threshold'],
      ['&threshold=3', 'threshold'],
      ['&marginWeight=-1', 'marginWeight'],
    ]) {
      const bad = await post(query);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toContain(name);
    }
  });
});
