import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadEngineConfig } from '../src/config/engine-config.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { lastJson, runCli } from './support/cli-process.js';
import { faceImage, PEOPLE, sample, type Person } from './support/sample-faces.js';

// The real CLI, end to end: each run starts the engine (model loading takes seconds), hence the timeouts.
const TIMEOUT = 120_000;

const facepipe = (...args: string[]) => runCli(['--threads', '1', ...args]);

const blank = () => sharp({ create: { width: 250, height: 250, channels: 3, background: '#8a8a8a' } });

describe('loadEngineConfig', () => {
  it('takes FACEPIPE_* variables, lets flags win, and keeps defaults for the rest', () => {
    const env = { FACEPIPE_BACKEND: 'cpu', FACEPIPE_THREADS: '3', FACEPIPE_FLIP_TTA: 'yes', FACEPIPE_MAX_BATCH: '' };
    const config = loadEngineConfig({ threads: '1', detector: 'ssd', minFaceSize: '40' }, env);
    expect(config).toMatchObject({ backend: 'cpu', threads: 1, maxBatch: 32 });
    expect(config.analyzer).toEqual({ detector: 'ssd', minFaceSize: 40, flipTta: true });
    expect(loadEngineConfig({ flipTta: false }, env).analyzer.flipTta).toBe(false); // --no-flip-tta
  });

  it('names every bad variable or flag and what it accepts', () => {
    const load = () => loadEngineConfig({ threads: '0' }, { FACEPIPE_BACKEND: 'gpu', FACEPIPE_MAX_WAIT_MS: '-1' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow('invalid FACEPIPE_BACKEND "gpu": expected one of onnx, tensorflow, wasm, cpu');
    expect(load).toThrow('invalid --threads "0": expected a positive integer');
    expect(load).toThrow('invalid FACEPIPE_MAX_WAIT_MS "-1"');
  });
});

describe('facepipe CLI', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-cli-'));
    await (await faceImage('A', 0.5)).jpeg().toFile(path.join(dir, 'a.jpg'));
    await (await faceImage('D', 0.5)).jpeg().toFile(path.join(dir, 'd.jpg'));
    await blank().jpeg().toFile(path.join(dir, 'blank.jpg'));
    await writeFile(path.join(dir, 'broken.jpg'), 'this is not a JPEG\n');
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('detect --json: faces with boxes and 68 landmarks; a bad image gets its error, the others go on', {
    timeout: TIMEOUT,
  }, async () => {
    const run = await facepipe('detect', sample(2), path.join(dir, 'broken.jpg'), '--json');
    expect(run.code).toBe(1); // some image failed
    const out = lastJson(run);
    expect(Object.keys(out).sort()).toEqual(['backend', 'images', 'model']);
    expect(out.model.threshold).toBeTypeOf('number');
    expect(run.stderr).toContain(`engine backend: ${out.backend}`); // the log, on stderr

    const [good, bad] = out.images;
    expect(good).toMatchObject({ key: sample(2), width: 1920, height: 1367, error: null });
    expect(good.faces.length).toBeGreaterThanOrEqual(1);
    for (const face of good.faces) {
      expect(Object.keys(face.box).sort()).toEqual(['height', 'width', 'x', 'y']);
      expect(face.score).toBeGreaterThan(0);
      expect(face.landmarks).toHaveLength(68);
    }
    expect(bad).toMatchObject({ key: path.join(dir, 'broken.jpg'), faces: [], error: { code: 'NOT_AN_IMAGE' } });
  });

  it('verify --json: an image against itself is the same person at distance ~0', { timeout: TIMEOUT }, async () => {
    const run = await facepipe('verify', sample(2), sample(2), '--json');
    expect(run.code).toBe(0);
    const out = lastJson(run);
    expect(out).toMatchObject({ same: true, error: null, threshold: out.model.threshold });
    expect(out.distance).toBeLessThan(1e-4);
    // Several faces each: every pair is listed, closest first, and the closest decides.
    expect(out.pairs).toHaveLength(out.faces1.length * out.faces2.length);
    expect(out.pairs[0].distance).toBe(out.distance);
  });

  it('verify --json: two different people are different', { timeout: TIMEOUT }, async () => {
    const run = await facepipe('verify', path.join(dir, 'a.jpg'), path.join(dir, 'd.jpg'), '--json');
    expect(run.code).toBe(0);
    const out = lastJson(run);
    expect(out.same).toBe(false);
    expect(out.distance).toBeGreaterThan(out.threshold);
    expect(out.faces1).toHaveLength(1);
    expect(out.faces2).toHaveLength(1);
    expect(out.pairs).toEqual([{ face1: 0, face2: 0, distance: out.distance }]);
  });

  it('verify: an image without a face is a NO_FACE error', { timeout: TIMEOUT }, async () => {
    const run = await facepipe('verify', path.join(dir, 'a.jpg'), path.join(dir, 'blank.jpg'), '--json');
    expect(run.code).toBe(1);
    expect(lastJson(run)).toMatchObject({ distance: null, same: null, error: { code: 'NO_FACE' } });
  });

  it('rejects an invalid engine setting with a usage error naming it and the allowed values', {
    timeout: TIMEOUT,
  }, async () => {
    const run = await facepipe('detect', sample(2), '--backend', 'gpu');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--backend "gpu": expected one of onnx, tensorflow, wasm, cpu');
  });

  it('embed: one JSONL line per image, keys relative to the folder, an error line for a broken file', {
    timeout: TIMEOUT,
  }, async () => {
    const folder = path.join(dir, 'embed-in');
    await mkdir(path.join(folder, 'sub'), { recursive: true });
    await (await faceImage('B', 0.5)).jpeg().toFile(path.join(folder, 'one.jpg'));
    await (await faceImage('C', 0.5)).png().toFile(path.join(folder, 'sub', 'two.png'));
    await writeFile(path.join(folder, 'broken.jpg'), 'not an image');
    await writeFile(path.join(folder, 'notes.txt'), 'skipped: not an image extension');
    const outFile = path.join(dir, 'embed-out', 'faces.jsonl');

    const run = await facepipe('embed', folder, '--out', outFile);
    expect(run.code).toBe(1); // one image failed
    expect(run.stdout).toMatch(/3 images, 2 faces, 1 failed/);

    const lines = (await readFile(outFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const byKey = Object.fromEntries(lines.map((l) => [l.key, l]));
    expect(Object.keys(byKey).sort()).toEqual(['broken.jpg', 'one.jpg', 'sub/two.png']);
    expect(byKey['broken.jpg']).toMatchObject({ faces: [], error: { code: 'NOT_AN_IMAGE' } });
    for (const key of ['one.jpg', 'sub/two.png']) {
      const line = byKey[key];
      expect(Object.keys(line).sort()).toEqual(['error', 'faces', 'key']);
      expect(line.error).toBeNull();
      expect(line.faces).toHaveLength(1);
      expect(Object.keys(line.faces[0]).sort()).toEqual(['box', 'embedding', 'score']);
      expect(line.faces[0].embedding).toHaveLength(FACE_MODEL.embeddingSize);
    }
  });

  it('evaluate --json on a tiny LFW-format folder prints the result object as the last line', {
    timeout: TIMEOUT,
  }, async () => {
    // Each person's two "photos": crops with different margins, the second mirrored and brighter.
    const lfw = path.join(dir, 'lfw');
    const save = async (name: string, index: number, image: Sharp) => {
      await mkdir(path.join(lfw, name), { recursive: true });
      await image.jpeg().toFile(path.join(lfw, name, `${name}_${String(index).padStart(4, '0')}.jpg`));
    };
    for (const person of Object.keys(PEOPLE) as Person[]) {
      await save(`Person_${person}`, 1, await faceImage(person, 0.4));
      await save(`Person_${person}`, 2, await faceImage(person, 0.7, true));
    }
    await save('Nobody_Here', 1, blank());
    const pairs = [
      '1\t5',
      ...['A', 'B', 'C', 'D'].map((p) => `Person_${p}\t1\t2`),
      'Nobody_Here\t1\t1', // a matched pair with no face: a failed pair, never skipped
      'Person_A\t1\tPerson_B\t1',
      'Person_C\t2\tPerson_D\t2',
      'Person_A\t2\tPerson_C\t1',
      'Person_B\t2\tPerson_D\t1',
      'Nobody_Here\t1\tPerson_A\t1',
    ];
    await writeFile(path.join(dir, 'pairs.txt'), `${pairs.join('\n')}\n`);
    const report = path.join(dir, 'report');

    const run = await facepipe('evaluate', lfw, '--pairs', path.join(dir, 'pairs.txt'), '--report', report, '--json');
    expect(run.code).toBe(0);
    const out = lastJson(run);
    expect(Object.keys(out).sort()).toEqual([
      'backend',
      'images',
      'model',
      'noFace',
      'secondsPerImage',
      'verification',
    ]);
    expect(Object.keys(out.verification).sort()).toEqual([
      'accuracy',
      'eer',
      'std',
      'tarAtFar1e2',
      'tarAtFar1e3',
      'threshold',
    ]);
    expect(out.images).toBe(9);
    expect(out.noFace).toBe(1);
    expect(out.secondsPerImage).toBeGreaterThan(0);
    expect(out.verification.accuracy).toBeGreaterThanOrEqual(0.7); // 8 of 10 pairs are clear-cut
    expect(out.verification.accuracy).toBeLessThanOrEqual(1);
    expect(existsSync(path.join(report, 'roc.svg'))).toBe(true);
    const full = JSON.parse(await readFile(path.join(report, 'evaluation.json'), 'utf8'));
    expect(full.noFaceImages).toEqual(['Nobody_Here/Nobody_Here_0001.jpg']);
    expect(full.verification.foldAccuracies.length).toBeGreaterThan(1);
  });
});
