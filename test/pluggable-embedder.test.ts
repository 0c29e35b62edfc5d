/**
 * The engine is pluggable: a test-only embedder (test/support/pixel-embedder.ts), registered through
 * the component interface and named by its own model card, runs the identification pipeline end
 * to end (enroll, then identify) with the real detector and landmarks. Real Redis, folder storage.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig, type AppConfig } from '../src/config/app-config.js';
import {
  createComponents,
  registerDetector,
  registerEmbedder,
  registerLandmarkModel,
} from '../src/engine/component-registry.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { selectBackend } from '../src/engine/tf-backend.js';
import type { RunningIndexService } from '../src/index/index-service-runtime.js';
import { runEnroll, type EnrollRunSummary } from '../src/producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../src/producers/identify-run.js';
import { ResultStore } from '../src/results/result-store.js';
import type { ResultJson } from '../src/results/result-types.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { keySegment } from '../src/storage/key-segment.js';
import { PIXEL_CARD, PIXEL_EMBEDDER, PixelEmbedder } from './support/pixel-embedder.js';
import { startTestPipeline, type TestPipeline } from './support/pipeline.js';
import { assertValidResult } from './support/result-schema.js';
import { faceImage } from './support/sample-faces.js';

const PLUGIN = new URL('./support/pixel-embedder.ts', import.meta.url).href;

let dir: string;
let config: AppConfig;
let engine: FaceEngine;
let index: RunningIndexService;
let pipeline: TestPipeline;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-pluggable-'));
  for (const person of ['A', 'B', 'C'] as const) {
    await mkdir(path.join(dir, 'gallery', person), { recursive: true });
    await (await faceImage(person, 0.5)).jpeg().toFile(path.join(dir, 'gallery', person, '1.jpg'));
  }
  // Other photos of A and B (wider, mirrored, brighter) and D, who is nobody.
  const night = path.join(dir, 'night', 'cam-1');
  await mkdir(night, { recursive: true });
  await (await faceImage('A', 1, true)).jpeg({ quality: 60 }).toFile(path.join(night, '0100.jpg'));
  await (await faceImage('B', 1, true)).jpeg({ quality: 60 }).toFile(path.join(night, '0200.jpg'));
  await (await faceImage('D', 1, true)).jpeg({ quality: 60 }).toFile(path.join(night, '0300.jpg'));

  config = loadAppConfig({ storage: path.join(dir, 'data'), queuePrefix: `fptest-${randomBytes(4).toString('hex')}` });
  engine = await FaceEngine.start({ threads: 1, card: PIXEL_CARD, plugins: [PLUGIN] });
  pipeline = await startTestPipeline(config, engine);
  ({ config, index } = pipeline);
});

afterAll(async () => {
  await pipeline?.close();
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a pluggable engine', () => {
  it('runs the embedder its card names: the model is the card, embeddings have its size', async () => {
    expect(engine.model).toEqual({
      id: PIXEL_CARD.id,
      detector: PIXEL_CARD.detector,
      embedder: PIXEL_CARD.embedder,
      embeddingSize: PIXEL_CARD.embeddingSize,
      threshold: PIXEL_CARD.threshold,
      identification: PIXEL_CARD.identification,
    });
    const face = await faceImage('A', 0.5);
    const analysis = await engine.analyze({ bytes: new Uint8Array(await face.jpeg().toBuffer()), name: 'A.jpg' });
    expect(analysis.faces).toHaveLength(1);
    expect(analysis.faces[0].embedding).toHaveLength(PIXEL_CARD.embeddingSize);
    expect(analysis.faces[0].landmarks).toHaveLength(68);
    // Deterministic: the same image gives the same embedding.
    const again = await engine.analyze({ bytes: new Uint8Array(await face.jpeg().toBuffer()), name: 'A.jpg' });
    expect(again.faces[0].embedding).toEqual(analysis.faces[0].embedding);
  });

  it('enrolls and identifies with it: names the enrolled people, not the stranger, in its own gallery', async () => {
    const enrolled = (await runEnroll(config, {
      model: engine.model,
      source: path.join(dir, 'gallery'),
      wait: true,
    })) as EnrollRunSummary;
    expect(enrolled).toMatchObject({ images: 3, enrolled: 3, persons: 3 });
    while (index.service.current.size < 3) await new Promise((resolve) => setTimeout(resolve, 50));

    const summary = (await runIdentify(config, {
      model: engine.model,
      source: path.join(dir, 'night'),
      run: 'night-1',
      wait: true,
    })) as IdentifyRunSummary;
    expect(summary).toMatchObject({ run: 'night-1', snapshots: 3, failed: 0 });
    const byKey = new Map<string, ResultJson>();
    for await (const { resultKey, result } of new ResultStore(new FolderStorage(config.storage)).read('night-1')) {
      assertValidResult(result, resultKey);
      byKey.set(result.input.key, result);
    }
    const named = (key: string) => byKey.get(key)?.faces.map((f) => f.personId) ?? [];
    expect(named('cam-1/0100.jpg')).toEqual(['A']);
    expect(named('cam-1/0200.jpg')).toEqual(['B']);
    expect(named('cam-1/0300.jpg').length).toBeGreaterThan(0); // D, and part of a neighbour
    expect(named('cam-1/0300.jpg').filter((p) => p !== null)).toEqual([]);
    // The gallery is the card's: nothing was written under the shipped model's id.
    expect(await readdir(path.join(config.storage, 'facepipe/gallery'))).toEqual([keySegment(PIXEL_CARD.id)]);
  }, 120_000);

  it('refuses a card naming an unknown component, or whose embedder computes another size than it says', async () => {
    registerDetector('test-no-faces', async () => ({ detect: async () => [] }));
    registerLandmarkModel('test-no-landmarks', async () => ({ landmarks: async () => [] }));
    const context = {
      backend: await selectBackend('cpu'),
      options: { detector: 'auto', minFaceSize: 20, flipTta: false } as const,
    };
    const card = {
      ...PIXEL_CARD,
      components: { detector: 'test-no-faces', landmarks: 'test-no-landmarks', embedder: PIXEL_EMBEDDER },
    };
    await expect(createComponents(card, context)).resolves.toMatchObject({
      embedder: { embeddingSize: PIXEL_CARD.embeddingSize },
    });
    await expect(
      createComponents({ ...card, components: { ...card.components, embedder: 'no-such-embedder' } }, context),
    ).rejects.toThrow(/no embedder named "no-such-embedder" is registered \(known: .*test-pixels/);
    await expect(createComponents({ ...card, embeddingSize: 7 }, context)).rejects.toThrow(
      /computes 32-D embeddings, the card says 7/,
    );
    expect(() => registerEmbedder(PIXEL_EMBEDDER, async () => new PixelEmbedder())).toThrow(/already registered/);
  });
});
