import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageAnalysis } from '../src/engine/engine-types.js';
import { FaceError } from '../src/errors/face-error.js';
import type { ImageInput } from '../src/engine/types.js';
import { splitOpenSet } from '../src/evaluation/open-set-protocol.js';
import { scoreOpenSet } from '../src/evaluation/open-set-runner.js';
import { calibrateIdentification, pairVerification, splitByPerson } from '../src/training/held-out.js';
import { labelledEmbeddings, type LargestFaceAnalyzer } from '../src/training/labelled-embeddings.js';
import { Rng } from '../src/training/rng.js';
import { gaussian, noisy, prng, unit } from './support/synthetic-embeddings.js';

let root: string;
let out: string;

beforeAll(async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'facepipe-labelled-'));
  root = path.join(tmp, 'faces');
  out = path.join(tmp, 'out');
  for (const [person, files] of Object.entries({
    alice: ['1.jpg', '2.jpg'],
    bob: ['1.jpg', '2.jpg', 'none.jpg'],
    carol: ['bad.jpg'],
  })) {
    await mkdir(path.join(root, person), { recursive: true });
    for (const f of files) await writeFile(path.join(root, person, f), `${person}/${f}`);
  }
  await writeFile(path.join(root, 'loose.jpg'), 'no person');
});

afterAll(async () => {
  await rm(path.dirname(root), { recursive: true, force: true });
});

/** Embeds a file as [its path length, its first byte]; "none" has no face, "bad" is refused. */
function stubEngine(): LargestFaceAnalyzer & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async analyze(input: ImageInput): Promise<ImageAnalysis> {
      const file = String(input);
      calls.push(path.relative(root, file));
      if (file.includes('bad')) throw new FaceError('UNSUPPORTED_FORMAT', 'not an image');
      const faces = file.includes('none')
        ? []
        : [
            {
              box: { x: 0, y: 0, width: 1, height: 1 },
              score: 1,
              landmarks: [],
              quality: { size: 1, blur: 0, pose: 0 },
              embedding: Float32Array.from([file.length, calls.length]),
            },
          ];
      return { width: 1, height: 1, facesDetected: faces.length, faces } as unknown as ImageAnalysis;
    },
  };
}

const analyzer = { detector: 'auto' as const, minFaceSize: 20, flipTta: true };

describe('labelledEmbeddings', () => {
  it('embeds <person>/<image> once, then serves the cache, re-embedding only what changed', async () => {
    const engine = stubEngine();
    const first = await labelledEmbeddings(engine, root, out, { model: 'm1', analyzer, concurrency: 2 });
    expect(first.keys).toEqual(['alice/1.jpg', 'alice/2.jpg', 'bob/1.jpg', 'bob/2.jpg']);
    expect(first.labels).toEqual(['alice', 'alice', 'bob', 'bob']);
    expect(first.skipped).toEqual([
      { key: 'bob/none.jpg', error: 'NO_FACE' },
      { key: 'carol/bad.jpg', error: 'UNSUPPORTED_FORMAT' },
    ]);
    expect(engine.calls).toHaveLength(6); // not loose.jpg: it has no person folder
    expect(first).toMatchObject({ cached: 0, embedded: 6, dim: 2 });

    const again = stubEngine();
    const second = await labelledEmbeddings(again, root, out, { model: 'm1', analyzer, concurrency: 2 });
    expect(again.calls).toEqual([]);
    expect(second.vectors).toEqual(first.vectors);
    expect(second.skipped).toEqual(first.skipped);
    expect(second).toMatchObject({ cached: 6, embedded: 0 });

    const later = new Date(Date.now() + 5000);
    await utimes(path.join(root, 'alice', '2.jpg'), later, later);
    const third = stubEngine();
    await labelledEmbeddings(third, root, out, { model: 'm1', analyzer, concurrency: 2 });
    expect(third.calls).toEqual(['alice/2.jpg']);

    const otherModel = stubEngine();
    await labelledEmbeddings(otherModel, root, out, { model: 'm2', analyzer, concurrency: 2 });
    expect(otherModel.calls).toHaveLength(6);
    const otherSettings = stubEngine();
    await labelledEmbeddings(otherSettings, root, out, {
      model: 'm2',
      analyzer: { ...analyzer, flipTta: false },
      concurrency: 2,
    });
    expect(otherSettings.calls).toHaveLength(6);
  });
});

describe('held-out split and pair verification', () => {
  it('holds out whole people with 2+ images, about the given share and at least 2', () => {
    const labels = Array.from({ length: 20 }, (_, p) => Array.from({ length: p < 15 ? 3 : 1 }, () => `p${p}`)).flat();
    const { train, heldOut } = splitByPerson(labels, 0.2, new Rng(1));
    const heldPeople = new Set(heldOut.map((i) => labels[i]));
    expect(heldPeople.size).toBe(4);
    for (const p of heldPeople) expect(labels.filter((l) => l === p)).toHaveLength(3);
    expect(train.some((i) => heldPeople.has(labels[i]))).toBe(false);
    expect(train.length + heldOut.length).toBe(labels.length);
    expect(splitByPerson(labels, 0, new Rng(1)).heldOut).toEqual([]);
    expect(() => splitByPerson(labels, 1, new Rng(1))).toThrow(RangeError);
  });

  it('scores balanced pairs and cross-validates the accuracy', () => {
    const labels = ['a', 'a', 'a', 'b', 'b', 'b', 'c', 'c'];
    const position = [0, 0.1, 0.2, 5, 5.1, 5.2, 10, 10.1];
    const { cv, pairs } = pairVerification(labels, new Rng(2), (ps) =>
      ps.map((p) => Math.abs(position[p.i] - position[p.j])),
    );
    expect(pairs.filter((p) => p.same)).toHaveLength(7);
    expect(pairs).toHaveLength(14);
    expect(cv.accuracy).toBe(1);
  });

  it('calibrates the 1:N threshold at FPIR 1% on held-out people, or declines with too few strangers', () => {
    const rand = prng(5);
    const images: { personId: string; key: string }[] = [];
    const vectors: Float32Array[] = [];
    for (let p = 0; p < 240; p++) {
      const centre = unit(Array.from({ length: 16 }, () => gaussian(rand)));
      for (let j = 0; j < 3; j++) {
        images.push({ personId: `p${String(p).padStart(3, '0')}`, key: `p${p}/${j}.jpg` });
        vectors.push(Float32Array.from(noisy(rand, centre, 0.08)));
      }
    }
    const calibrated = calibrateIdentification(images, vectors, 1.5)!;
    // 120 people enrolled (2 probes each), 120 strangers (3 images each).
    expect(calibrated).toMatchObject({ gallery: 120, enrolledProbes: 240, strangers: 360, fpir: 0.01 });
    expect(calibrated.threshold).toBeGreaterThan(0);
    expect(calibrated.tpir).toBeGreaterThan(0.5);
    // At most floor(1% of 360) strangers named: the same figure through the public scorer.
    const open = scoreOpenSet(splitOpenSet(images), new Map(images.map((im, r) => [im.key, vectors[r]])), {
      threshold: calibrated.threshold,
      marginWeight: 1.5,
    });
    expect(open.rule.atRule.fpir).toBeLessThanOrEqual(0.01);
    expect(calibrateIdentification(images.slice(0, 60), vectors.slice(0, 60), 1.5)).toBeUndefined(); // 10 strangers
  });
});
