/**
 * Hubs (issue 22) end to end on embeddings the test makes (test/support/planted-hub.ts):
 * `facepipe gallery hubs` lists the planted hub from the gallery in storage and, with --apply,
 * stores its offset; with FACEPIPE_HUB_NORMALISATION on, the identify worker, /v1/search?persons
 * and /v1/identify read it and the hub stops attracting junk it attracted before. /v1/identify
 * applies the quality gates as the worker does.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/config-source.js';
import { DEFAULT_HUB_NORMALISATION, loadHubNormalisation } from '../src/config/identification-config.js';
import type { EmbeddingModel } from '../src/engine/embedding-model.js';
import type { FaceAnalyzer } from '../src/engine/face-analyzer.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { RunStore } from '../src/producers/run-store.js';
import type { GalleryRecord } from '../src/gallery/gallery-record.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { CohortOffsetsStore } from '../src/identification/cohort-offsets-store.js';
import { IdentificationSettingsStore } from '../src/identification/identification-settings-store.js';
import type { PersonMatch } from '../src/identification/identification-rule.js';
import { LiveIdentificationRule } from '../src/identification/live-identification-rule.js';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { ResultStore } from '../src/results/result-store.js';
import { parseResultFile } from '../src/results/result-schema.js';
import { openStorage } from '../src/storage/open-storage.js';
import type { Storage } from '../src/storage/storage.js';
import { IdentifyJobHandler } from '../src/workers/identify-job-handler.js';
import { lastJson, runCli } from './support/cli-process.js';
import { plantedHub } from './support/planted-hub.js';
import { resultJson } from './support/result-json.js';
import { sample } from './support/sample-faces.js';

const TIMEOUT = 120_000;
const world = plantedHub();
const gallery = [...world.persons, world.hub];
const rule = FACE_MODEL.identification;

const record = (personId: string, embedding: Float32Array, flags?: string[]): GalleryRecord => ({
  faceId: `${personId}-f0`,
  personId,
  source: 'file:///archive',
  sourceKey: `${personId}/photo.jpg`,
  sourceEtag: 'etag',
  box: { x: 0, y: 0, width: 100, height: 100 },
  landmarks: [],
  score: 0.9,
  ...(flags ? { flags } : {}),
  model: FACE_MODEL.id,
  embedding: Array.from(embedding),
  enrolledAt: new Date(0).toISOString(),
});

/** A face as the engine gives it: the embedding, a sure detection of a usable face unless told. */
const detected = (embedding: Float32Array, score = 0.9) => ({
  box: { x: 10, y: 10, width: 60, height: 60 },
  score,
  landmarks: Array.from({ length: 68 }, (_, j) => [j % 10, Math.floor(j / 10)] as [number, number]),
  quality: { size: 60, blur: 0.2, pose: 0.1 },
  embedding,
});

/** Brute force: every person's distance, ascending (the index service's person search). */
function search(probe: ArrayLike<number>): PersonMatch[] {
  return gallery
    .map(({ personId, embedding }) => ({
      personId,
      faceId: `${personId}-f0`,
      distance: Math.hypot(...Array.from(embedding, (v, i) => v - probe[i])),
    }))
    .sort((a, b) => a.distance - b.distance);
}

describe('hubs: facepipe gallery hubs, then normalisation in the worker and the service', () => {
  let dir: string;
  let storage: Storage;
  let offsets: CohortOffsetsStore;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-hubs-'));
    storage = openStorage(path.join(dir, 'data'));
    offsets = new CohortOffsetsStore(storage, FACE_MODEL.id);
    await new GalleryStore(storage, FACE_MODEL.id).append([
      ...world.persons.map((p) => record(p.personId, p.embedding)),
      record('hub', world.hub.embedding, ['several-faces']),
    ]);
    // The cohort as `facepipe embed` writes it: one line per image, its faces' embeddings.
    const lines = world.cohort.map((e, i) =>
      JSON.stringify({ key: `junk-${i}.jpg`, faces: [{ embedding: Array.from(e) }] }),
    );
    await writeFile(path.join(dir, 'cohort.jsonl'), `${lines.join('\n')}\n`);
  }, TIMEOUT);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'gallery hubs lists the planted hub, and only it, with its flags; --apply stores its offset',
    async () => {
      const args = ['gallery', 'hubs', '--storage', path.join(dir, 'data'), '--cohort', path.join(dir, 'cohort.jsonl')];
      const human = await runCli([...args, '--top', '3']);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/hubs: 1 person\(s\)/);
      expect(human.stdout).toMatch(/^ {2}hub\t200\t/m);
      expect(await offsets.read()).toBeNull(); // not without --apply

      const run = await runCli([...args, '--json', '--apply']);
      expect(run.code, run.stderr).toBe(0);
      const report = lastJson(run);
      expect(report).toMatchObject({ persons: 61, galleryFaces: 61, cohortFaces: 200, applied: true });
      expect(report.hubs.map((h: { personId: string }) => h.personId)).toEqual(['hub']);
      expect(report.hubs[0]).toMatchObject({ hits: 200, flags: ['several-faces'] });
      expect(report.hubs[0].ratio).toBeCloseTo(61);
      const stored = await offsets.read();
      expect(stored?.offsets.hub).toBeGreaterThan(0.5);
      expect(stored?.cohort).toMatchObject({ faces: 200, galleryPersons: 61 });
    },
    TIMEOUT,
  );

  it('the live rule hands the stored offsets out only with normalisation on', async () => {
    const settings = new IdentificationSettingsStore(storage, FACE_MODEL.id);
    const on = new LiveIdentificationRule(settings, { fallback: rule, offsets: { store: offsets, enabled: true } });
    const off = new LiveIdentificationRule(settings, { fallback: rule, offsets: { store: offsets, enabled: false } });
    await Promise.all([on.refresh(), off.refresh()]);
    expect(on.entryOffsets()?.get('hub')).toBeGreaterThan(0.5);
    expect(off.entryOffsets()).toBeUndefined();
  });

  it('the identify worker names the hub for junk before, and not after', async () => {
    const source = openStorage(path.join(dir, 'night'));
    const { etag } = await source.put('cam/1.jpg', 'junk');
    const model: EmbeddingModel = FACE_MODEL;
    const analyzer: FaceAnalyzer = {
      model,
      analyze: async () => ({
        width: 640,
        height: 480,
        facesDetected: world.laterJunk.length,
        faces: world.laterJunk.map((e) => detected(e)),
      }),
    };
    const named = async (entryOffsets?: ReadonlyMap<string, number>) => {
      const run = entryOffsets ? 'after' : 'before';
      const handler = new IdentifyJobHandler({
        analyzer,
        results: new ResultStore(storage),
        storageUrl: storage.url,
        model,
        rule: () => rule,
        entryOffsets: () => entryOffsets,
        openSource: () => source,
        search: async (vectors, k) => vectors.map((v) => search(v).slice(0, k)),
      });
      await handler.handle(`job-${run}`, {
        storageUrl: storage.url,
        sourceUrl: source.url,
        model: model.id,
        run,
        items: [{ key: 'cam/1.jpg', etag, size: 4, modified: new Date(0).toISOString() }],
      });
      const result = parseResultFile(await storage.get(`facepipe/results/${run}/cam/1.jpg.json`));
      return result.faces.map((f) => f.personId).filter((id) => id !== null);
    };
    const before = await named();
    expect(before.length).toBeGreaterThan(world.laterJunk.length / 2);
    expect(new Set(before)).toEqual(new Set(['hub']));
    const live = new LiveIdentificationRule(new IdentificationSettingsStore(storage, FACE_MODEL.id), {
      fallback: rule,
      offsets: { store: offsets, enabled: true },
    });
    await live.refresh();
    expect(await named(live.entryOffsets())).toEqual([]);
  });

  describe('the index service', () => {
    const index = new FaceIndex({ dim: FACE_MODEL.embeddingSize });
    index.add(gallery.map((p) => ({ faceId: `${p.personId}-f0`, personId: p.personId, embedding: p.embedding })));
    let image: Buffer;
    beforeAll(async () => {
      image = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888' } })
        .jpeg()
        .toBuffer();
    });
    let faces = world.laterJunk.map((e) => detected(e));
    const server = (entryOffsets?: ReadonlyMap<string, number>) =>
      buildIndexServer({
        index,
        threshold: FACE_MODEL.threshold,
        rule,
        gates: { minDetectorScore: 0.5, minSize: 0, maxBlur: 1, maxPose: 1 },
        entryOffsets: () => entryOffsets,
        analyze: async () => ({ width: 64, height: 64, facesDetected: faces.length, faces }),
      });
    const hubOffsets = async () => new Map(Object.entries((await offsets.read())!.offsets));

    it('/v1/identify and /v1/search?persons name the hub for junk before, and not after', async () => {
      faces = world.laterJunk.map((e) => detected(e));
      for (const [offsetsUsed, expectNamed] of [
        [undefined, true],
        [await hubOffsets(), false],
      ] as const) {
        const app = server(offsetsUsed);
        const identify = await app.inject({
          method: 'POST',
          url: '/v1/identify?k=3',
          headers: { 'content-type': 'image/jpeg' },
          payload: image,
        });
        expect(identify.statusCode, identify.body).toBe(200);
        const named = identify
          .json()
          .faces.map((f: { personId: string | null }) => f.personId)
          .filter(Boolean);
        const search = await app.inject({
          method: 'POST',
          url: '/v1/search',
          payload: { vectors: world.laterJunk.map((e) => Array.from(e)), k: 3, persons: true },
        });
        expect(search.statusCode, search.body).toBe(200);
        const searched = search
          .json()
          .decisions.map((d: { personId: string | null }) => d.personId)
          .filter(Boolean);
        if (expectNamed) {
          expect(named.length).toBeGreaterThan(world.laterJunk.length / 2);
          expect(new Set([...named, ...searched])).toEqual(new Set(['hub']));
          expect(searched).toEqual(named);
        } else {
          expect(named).toEqual([]);
          expect(searched).toEqual([]);
        }
        await app.close();
      }
    });

    it('/v1/identify reports a face failing a gate unnamed, with the gate, as the worker does', async () => {
      const own = world.around(world.persons[0].embedding, 0.2);
      faces = [detected(own), detected(own, 0.3)];
      const app = server();
      const res = await app.inject({
        method: 'POST',
        url: '/v1/identify',
        headers: { 'content-type': 'image/jpeg' },
        payload: image,
      });
      expect(res.statusCode, res.body).toBe(200);
      const [sure, unsure] = res.json().faces;
      expect(sure.personId).toBe('p0');
      expect(sure.decision.outcome).toBe('named');
      expect(unsure.personId).toBeNull();
      expect(unsure.decision).toMatchObject({ outcome: 'low-quality', failedGates: ['detectorScore'] });
      expect(unsure.matches[0].personId).toBe('p0');
      await app.close();
    });
  });
});

describe("facepipe gallery hubs --run: the cohort of a run's unnamed detections", () => {
  let dir: string;
  let engine: FaceEngine;
  afterAll(async () => {
    await engine?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "embeds again the boxes nobody was named for, from the run's source",
    async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-hubs-run-'));
      engine = await FaceEngine.start({ threads: 1 });
      const source = openStorage(path.join(dir, 'cctv'));
      await source.put('cam/1.jpg', await readFile(sample(1)));
      const { faces } = await engine.analyze(sample(1));
      expect(faces.length).toBeGreaterThanOrEqual(3);
      const storage = openStorage(path.join(dir, 'data'));
      // The first face was named; the others not: they are the cohort.
      await new ResultStore(storage).put(
        'night',
        resultJson(
          'cam/1.jpg',
          faces.map((f, i) => ({ personId: i === 0 ? 'p0' : null, box: f.box })),
        ),
      );
      await new RunStore(storage).save({
        run: 'night',
        source: source.url,
        since: null,
        watermark: null,
        snapshots: 1,
        createdAt: new Date(0).toISOString(),
        jobs: [],
      });
      // A person enrolled with the second face's embedding: the one that face lands on.
      await new GalleryStore(storage, FACE_MODEL.id).append([
        ...world.persons.map((p) => record(p.personId, p.embedding)),
        record('magnet', faces[1].embedding),
      ]);
      const run = await runCli(['gallery', 'hubs', '--storage', path.join(dir, 'data'), '--run', 'night', '--json']);
      expect(run.code, run.stderr).toBe(0);
      const report = lastJson(run);
      expect(report).toMatchObject({ cohort: 'run:night', cohortFaces: faces.length - 1, persons: 61 });
      expect(report.top[0].personId).toBe('magnet');

      const missing = await runCli(['gallery', 'hubs', '--storage', path.join(dir, 'data'), '--run', 'nope']);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toMatch(/run nope: not found/);
    },
    TIMEOUT * 2,
  );
});

describe('the hub normalisation setting', () => {
  it('takes the shipped default, on from the environment, and refuses a bad value naming it', () => {
    expect(loadHubNormalisation({}, {})).toBe(DEFAULT_HUB_NORMALISATION);
    expect(loadHubNormalisation({}, { FACEPIPE_HUB_NORMALISATION: 'on' })).toBe(true);
    expect(() => loadHubNormalisation({}, { FACEPIPE_HUB_NORMALISATION: 'maybe' })).toThrow(ConfigError);
    expect(() => loadHubNormalisation({}, { FACEPIPE_HUB_NORMALISATION: 'maybe' })).toThrow(
      /FACEPIPE_HUB_NORMALISATION/,
    );
  });
});
