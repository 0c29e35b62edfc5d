import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEmbeddingModel } from '../src/engine/embedding-model.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { selectBackend, type BackendName } from '../src/engine/tf-backend.js';
import { EmbeddingAdapter } from '../src/training/embedding-adapter.js';
import { PairClassifier } from '../src/training/pair-classifier.js';
import { lastJson, runCli } from './support/cli-process.js';
import { faceImage, PEOPLE, type Person } from './support/sample-faces.js';

// The real CLI on a tiny labelled folder: the engine embeds it once (seconds), training is instant.
const TIMEOUT = 120_000;
const facepipe = (...args: string[]) => runCli(['--threads', '1', ...args]);

/** 3 photos of a person, numbered 1-3: two crops and a mirrored, brightened one. */
async function writePhotos(person: Person, file: (i: number) => string): Promise<void> {
  await mkdir(path.dirname(file(1)), { recursive: true });
  await (await faceImage(person, 0.5)).jpeg().toFile(file(1));
  await (await faceImage(person, 0.3)).jpeg().toFile(file(2));
  await (await faceImage(person, 0.4, true)).jpeg().toFile(file(3));
}

describe('facepipe train', () => {
  let dir: string;
  let faces: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-train-'));
    faces = path.join(dir, 'faces');
    for (const person of Object.keys(PEOPLE) as Person[])
      await writePhotos(person, (i) => path.join(faces, person, `${i}.jpg`));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('triplet: embeds once, trains an adapter with checkpoints, resumes, and the adapter loads', {
    timeout: TIMEOUT,
  }, async () => {
    const out = path.join(dir, 'adapter');
    const common = [
      'train',
      'triplet',
      '--data',
      faces,
      '--out',
      out,
      '--p',
      '4',
      '--k',
      '3',
      '--hidden',
      '16',
      '--output-size',
      '8',
      '--held-out',
      '0',
      '--json',
    ];
    const first = await facepipe(...common, '--epochs', '2');
    expect(first.code, first.stderr).toBe(0);
    const summary = lastJson(first);
    expect(summary).toMatchObject({ epochs: 2, images: 12, people: 4, skipped: 0, cached: 0 });
    expect(summary.activeShare).toBeGreaterThanOrEqual(0);
    expect(first.stderr).toContain('epoch 2/2');
    for (const f of [
      'model.json',
      'weights.bin',
      'training.json',
      'embeddings.json',
      'embeddings.f32',
      'checkpoint/state.json',
    ])
      expect(existsSync(path.join(out, f)), f).toBe(true);

    const resumed = await facepipe(...common, '--epochs', '3', '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lastJson(resumed)).toMatchObject({ epochs: 3, cached: 12 });
    expect(resumed.stderr).toContain('resumed from the checkpoint of epoch 2');
    expect(resumed.stderr).not.toContain('epoch 1/3');
    const history = JSON.parse(await readFile(path.join(out, 'training.json'), 'utf8')).history;
    expect(history.map((h: { epoch: number }) => h.epoch)).toEqual([1, 2, 3]);

    const { tf } = await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined);
    const adapter = await EmbeddingAdapter.load(tf, out);
    expect(adapter.metadata).toMatchObject({
      inputSize: FACE_MODEL.embeddingSize,
      outputSize: 8,
      baseModel: FACE_MODEL.id,
      training: { mining: 'semi-hard', margin: 0.2 },
    });
    adapter.dispose();
  });

  it('pair-classifier: trains on balanced pairs and saves a classifier that loads', { timeout: TIMEOUT }, async () => {
    const out = path.join(dir, 'verifier');
    const run = await facepipe(
      'train',
      'pair-classifier',
      '--data',
      faces,
      '--out',
      out,
      '--epochs',
      '3',
      '--held-out',
      '0',
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(lastJson(run)).toMatchObject({ images: 12, people: 4 });
    const { tf } = await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined);
    const classifier = await PairClassifier.load(tf, out);
    expect(classifier.metadata.embeddingSize).toBe(FACE_MODEL.embeddingSize);
    classifier.dispose();
  });
});

describe('trained models in the other commands: --adapter and --verifier', () => {
  let dir: string;
  let lfw: string;
  let adapterDir: string;
  let verifierDir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-learnt-'));
    lfw = path.join(dir, 'lfw');
    for (const person of Object.keys(PEOPLE) as Person[]) {
      const name = `Person_${person}`;
      await writePhotos(person, (i) => path.join(lfw, name, `${name}_000${i}.jpg`));
    }
    // C and D are held out: the adapter and the classifier are trained on A and B only.
    await writeFile(path.join(dir, 'held-out.txt'), '# never trained on\nPerson_C\nPerson_D\n');
    adapterDir = path.join(dir, 'adapter');
    verifierDir = path.join(dir, 'verifier');
    const heldOut = ['--held-out-people', path.join(dir, 'held-out.txt'), '--json'];
    const adapter = await facepipe(
      'train',
      'triplet',
      '--data',
      lfw,
      '--out',
      adapterDir,
      '--epochs',
      '2',
      '--p',
      '2',
      '--k',
      '3',
      '--hidden',
      '16',
      '--output-size',
      '8',
      ...heldOut,
    );
    expect(adapter.code, adapter.stderr).toBe(0);
    const verifier = await facepipe(
      'train',
      'pair-classifier',
      '--data',
      lfw,
      '--out',
      verifierDir,
      '--epochs',
      '3',
      ...heldOut,
    );
    expect(verifier.code, verifier.stderr).toBe(0);
  }, 2 * TIMEOUT);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('training records the people it saw and a calibrated threshold; the adapter names its own model', async () => {
    for (const d of [adapterDir, verifierDir]) {
      expect(JSON.parse(await readFile(path.join(d, 'training.json'), 'utf8')).trainedPeople).toEqual([
        'Person_A',
        'Person_B',
      ]);
    }
    const model = await resolveEmbeddingModel(adapterDir);
    expect(model.id).toMatch(new RegExp(`^${FACE_MODEL.id}\\+adapter-[0-9a-f]{16}$`));
    expect(model.embeddingSize).toBe(8);
    expect(model.threshold).toBeGreaterThan(0);
    expect(model.identification.threshold).toBeCloseTo(
      (FACE_MODEL.identification.threshold * model.threshold) / FACE_MODEL.threshold,
    );
    await expect(resolveEmbeddingModel(verifierDir)).rejects.toThrow(/not a facepipe adapter/);
    await expect(resolveEmbeddingModel(path.join(dir, 'nowhere'))).rejects.toThrow(/cannot read the model .*nowhere/);
  });

  it('verify and embed run the adapter inside the engine; verify --verifier decides by P(same)', {
    timeout: TIMEOUT,
  }, async () => {
    const [a1, a2] = [1, 2].map((i) => path.join(lfw, 'Person_A', `Person_A_000${i}.jpg`));
    const model = await resolveEmbeddingModel(adapterDir);
    const adapted = await facepipe('--adapter', adapterDir, 'verify', a1, a2, '--json');
    expect(adapted.code, adapted.stderr).toBe(0);
    const out = lastJson(adapted);
    expect(out.model.id).toBe(model.id);
    expect(out.threshold).toBeCloseTo(model.threshold);
    expect(out.distance).toBeGreaterThanOrEqual(0);
    expect(out.distance).toBeLessThanOrEqual(2); // unit vectors

    const file = path.join(dir, 'embeddings.jsonl');
    const embedded = await facepipe('--adapter', adapterDir, 'embed', a1, '--out', file);
    expect(embedded.code, embedded.stderr).toBe(0);
    const vector = JSON.parse((await readFile(file, 'utf8')).trim()).faces[0].embedding as number[];
    expect(vector).toHaveLength(8);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 4);

    const byVerifier = await facepipe('verify', a1, a2, '--verifier', verifierDir, '--json');
    expect(byVerifier.code, byVerifier.stderr).toBe(0);
    const decided = lastJson(byVerifier);
    expect(decided.verifier).toMatch(/^verifier-[0-9a-f]{16}$/);
    expect(decided.probability).toBeGreaterThanOrEqual(0);
    expect(decided.probability).toBeLessThanOrEqual(1);
    expect(decided.same).toBe(decided.probability >= 0.5);

    // A classifier of plain embeddings is refused on adapted ones.
    const mixed = await facepipe('--adapter', adapterDir, 'verify', a1, a2, '--verifier', verifierDir);
    expect(mixed.code).not.toBe(0);
    expect(mixed.stderr).toMatch(/pair classifier of .* embeddings, these are .*adapter-/);
  });

  it('evaluate compares plain, adapter and verifier on the same pairs of people they never saw', {
    timeout: TIMEOUT,
  }, async () => {
    const pairs = [
      '2\t2',
      'Person_A\t1\t2', // fold 1: only people seen in training, dropped
      'Person_B\t1\t3',
      'Person_A\t1\tPerson_B\t1',
      'Person_A\t2\tPerson_C\t1', // one seen person: dropped
      'Person_C\t1\t2', // fold 2: the unseen people
      'Person_D\t1\t3',
      'Person_C\t1\tPerson_D\t1',
      'Person_C\t3\tPerson_D\t2',
    ];
    await writeFile(path.join(dir, 'pairs.txt'), `${pairs.join('\n')}\n`);
    const run = await facepipe(
      '--adapter',
      adapterDir,
      'evaluate',
      lfw,
      '--pairs',
      path.join(dir, 'pairs.txt'),
      '--open-set',
      '--verifier',
      verifierDir,
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    const out = lastJson(run);
    expect(out.unseen).toMatchObject({ pairs: 4, folds: 1 });
    expect(out.variants.map((v: { name: string }) => v.name)).toEqual(['plain', 'adapter', 'verifier']);
    expect(out.variants[1].id).toBe((await resolveEmbeddingModel(adapterDir)).id);
    for (const v of out.variants) {
      expect(v.verification.accuracy).toBeGreaterThanOrEqual(0);
      expect(v.verification.accuracy).toBeLessThanOrEqual(1);
    }
    expect(out.verification).toEqual(out.variants[0].verification);
    // Open-set over the unseen identities only (C enrolled, D a stranger), for the distance-based variants.
    expect(out.variants[0].openSet).toMatchObject({ gallery: 1, genuineProbes: 2, impostorProbes: 3 });
    expect(out.variants[1].openSet).toMatchObject({ gallery: 1, genuineProbes: 2, impostorProbes: 3 });
    expect(out.variants[2].openSet).toBeUndefined();
    // The plain embedder's images were embedded once for all three.
    expect(out.images).toBe(6);
  });
});
