/**
 * face-api's 68-point landmark net on onnxruntime against the engine's tfjs implementation
 * (FaceApiLandmarks on wasm), on faces of the photos that ship in @vladmandic/face-api.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../src/engine/decode-image.js';
import { DlibShapePredictor } from '../src/engine/dlib-shape-predictor.js';
import { FaceApiLandmarks } from '../src/engine/face-api-landmarks.js';
import type { FoundFace } from '../src/engine/face-detector-model.js';
import { DLIB_FIVE_POINT_MODEL, FACE_API_MODEL_DIR, loadFaceApiNets } from '../src/engine/face-models.js';
import { faceCrop } from '../src/engine/onnx/face-crop.js';
import { OnnxFaceLandmarks } from '../src/engine/onnx/onnx-face-landmarks.js';
import { selectBackend } from '../src/engine/tf-backend.js';
import type { RgbImage } from '../src/engine/types.js';
import { maxAbsDiff } from './support/face-chips.js';
import { PEOPLE, sample } from './support/sample-faces.js';

describe("face-api's 68-point landmarks on onnxruntime", () => {
  let cacheDir: string;
  let onnx: OnnxFaceLandmarks;
  let tfjs: FaceApiLandmarks;
  let image: RgbImage;
  let faces: FoundFace[];

  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-onnx-landmarks-'));
    const backend = await selectBackend('wasm');
    const [faceapi, fivePointModel] = await Promise.all([
      loadFaceApiNets(backend, ['faceLandmark68Net']),
      DlibShapePredictor.load(DLIB_FIVE_POINT_MODEL),
    ]);
    tfjs = new FaceApiLandmarks(backend.tf, faceapi, fivePointModel);
    onnx = await OnnxFaceLandmarks.load(
      { faceApiModelDir: FACE_API_MODEL_DIR, fivePointModel: DLIB_FIVE_POINT_MODEL },
      { cacheDir },
    );
    // Two people of sample 5: tall boxes, a fractional one, a wide one, and one across the image's edge.
    image = await decodeImage(sample(PEOPLE.C.sample), { maxPixels: 1e8 });
    const box = (x: number, y: number, width: number, height: number) => ({ box: { x, y, width, height }, score: 1 });
    const [cx, cy, cw, ch] = PEOPLE.C.box;
    const [dx, dy, dw, dh] = PEOPLE.D.box;
    faces = [
      box(cx, cy, cw, ch),
      box(dx + 0.4, dy - 0.7, dw + 1.3, dh),
      box(dx - 60, dy + 20, dw + 120, dh - 60),
      box(-20, dy, 200, 220),
    ];
  });
  afterAll(async () => {
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('crops as face-api does: pads a tall crop to a square on both sides, then resizes to 112', () => {
    const crop = faceCrop(image, { x: 10.6, y: 20.2, width: 50, height: 81 }, 112);
    expect([crop.width, crop.height]).toEqual([50, 81]);
    // 31 columns of padding: 15 before, 16 after; the corners are padding (zero), the middle is the photo.
    expect(crop.pixels[0]).toBe(0);
    expect(crop.pixels[(112 * 112 - 1) * 3]).toBe(0);
    expect(crop.pixels[(56 * 112 + 56) * 3]).toBeGreaterThan(0);
  });

  it('finds the 68 points tfjs finds, every face of the image in one pass, and the same five points', async () => {
    const [expected, actual] = [await tfjs.landmarks(image, faces), await onnx.landmarks(image, faces)];
    expect(actual.length).toBe(faces.length);
    const flat = (points: readonly (readonly number[])[]) => points.flat();
    const worst = Math.max(...actual.map((face, i) => maxAbsDiff(flat(face.landmarks), flat(expected[i].landmarks))));
    const worstFive = Math.max(...actual.map((face, i) => maxAbsDiff(flat(face.five), flat(expected[i].five))));
    console.log(
      `68-point landmarks, onnx vs tfjs-wasm: max abs difference ${worst.toExponential(2)} px (five points ${worstFive.toExponential(2)} px) over ${faces.length} faces`,
    );
    expect(worst).toBeLessThan(1e-3);
    expect(worstFive).toBeLessThan(1e-3);
    // The points lie on the faces: inside each box (with a margin for chins and brows).
    actual.forEach(({ landmarks }, i) => {
      const { x, y, width, height } = faces[i].box;
      for (const [px, py] of landmarks) {
        expect(px).toBeGreaterThan(x - 0.2 * width);
        expect(px).toBeLessThan(x + 1.2 * width);
        expect(py).toBeGreaterThan(y - 0.2 * height);
        expect(py).toBeLessThan(y + 1.2 * height);
      }
    });
  });

  it('gives a face alone the points it gets among others', async () => {
    const together = await onnx.landmarks(image, faces);
    const [alone] = await onnx.landmarks(image, [faces[1]]);
    expect(maxAbsDiff(alone.landmarks.flat(), together[1].landmarks.flat())).toBeLessThan(1e-3);
  });
});
