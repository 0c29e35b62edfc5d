import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { selectBackend, type BackendName } from '../src/engine/tf-backend.js';
import { EmbeddingAdapter } from '../src/training/embedding-adapter.js';
import { PairClassifier } from '../src/training/pair-classifier.js';
import { lastJson, runCli } from './support/cli-process.js';
import { faceImage, PEOPLE, type Person } from './support/sample-faces.js';

// The real CLI on a tiny labelled folder: the engine embeds it once (seconds), training is instant.
const TIMEOUT = 120_000;
const facepipe = (...args: string[]) => runCli(['--threads', '1', ...args]);

describe('facepipe train', () => {
  let dir: string;
  let faces: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-train-'));
    faces = path.join(dir, 'faces');
    // 4 people, 3 photos each: two crops and a mirrored, brightened one.
    for (const person of Object.keys(PEOPLE) as Person[]) {
      await mkdir(path.join(faces, person), { recursive: true });
      await (await faceImage(person, 0.5)).jpeg().toFile(path.join(faces, person, '1.jpg'));
      await (await faceImage(person, 0.3)).jpeg().toFile(path.join(faces, person, '2.jpg'));
      await (await faceImage(person, 0.4, true)).jpeg().toFile(path.join(faces, person, '3.jpg'));
    }
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('triplet: embeds once, trains an adapter with checkpoints, resumes, and the adapter loads', { timeout: TIMEOUT }, async () => {
    const out = path.join(dir, 'adapter');
    const common = ['train', 'triplet', '--data', faces, '--out', out, '--p', '4', '--k', '3', '--hidden', '16', '--output-size', '8', '--held-out', '0', '--json'];
    const first = await facepipe(...common, '--epochs', '2');
    expect(first.code, first.stderr).toBe(0);
    const summary = lastJson(first);
    expect(summary).toMatchObject({ epochs: 2, images: 12, people: 4, skipped: 0, cached: 0 });
    expect(summary.activeShare).toBeGreaterThanOrEqual(0);
    expect(first.stderr).toContain('epoch 2/2');
    for (const f of ['model.json', 'weights.bin', 'training.json', 'embeddings.json', 'embeddings.f32', 'checkpoint/state.json']) expect(existsSync(path.join(out, f)), f).toBe(true);

    const resumed = await facepipe(...common, '--epochs', '3', '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lastJson(resumed)).toMatchObject({ epochs: 3, cached: 12 });
    expect(resumed.stderr).toContain('resumed from the checkpoint of epoch 2');
    expect(resumed.stderr).not.toContain('epoch 1/3');
    const history = JSON.parse(await readFile(path.join(out, 'training.json'), 'utf8')).history;
    expect(history.map((h: { epoch: number }) => h.epoch)).toEqual([1, 2, 3]);

    const { tf } = await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined);
    const adapter = await EmbeddingAdapter.load(tf, out);
    expect(adapter.metadata).toMatchObject({ inputSize: FACE_MODEL.embeddingSize, outputSize: 8, baseModel: FACE_MODEL.id, training: { mining: 'semi-hard', margin: 0.2 } });
    adapter.dispose();
  });

  it('pair-classifier: trains on balanced pairs and saves a classifier that loads', { timeout: TIMEOUT }, async () => {
    const out = path.join(dir, 'verifier');
    const run = await facepipe('train', 'pair-classifier', '--data', faces, '--out', out, '--epochs', '3', '--held-out', '0', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(lastJson(run)).toMatchObject({ images: 12, people: 4 });
    const { tf } = await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined);
    const classifier = await PairClassifier.load(tf, out);
    expect(classifier.metadata.embeddingSize).toBe(FACE_MODEL.embeddingSize);
    classifier.dispose();
  });
});
