/**
 * face-api's tiny face detector on onnxruntime (src/engine/onnx/) against face-api's own on
 * tfjs-wasm: the same weights, the same input, every grid value, then the detections of photos that
 * ship with face-api (portrait crops) at the input sizes the engine uses.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaceApi, loadFaceApiNets } from '../src/engine/face-models.js';
import { loadOnnxRuntime } from '../src/engine/onnx/onnx-runtime.js';
import { OnnxTinyFaceDetector } from '../src/engine/onnx/onnx-tiny-face-detector.js';
import { selectBackend, type TfBackend } from '../src/engine/tf-backend.js';
import { faceImage, type Person } from './support/sample-faces.js';

let backend: TfBackend;
let faceapi: FaceApi;
let tiny: OnnxTinyFaceDetector;
let cacheDir: string;

beforeAll(async () => {
  backend = await selectBackend('wasm');
  faceapi = await loadFaceApiNets(backend, ['tinyFaceDetector']);
  cacheDir = await mkdtemp(path.join(tmpdir(), 'facepipe-onnx-test-'));
  const runtime = loadOnnxRuntime();
  if (!runtime) throw new Error('onnxruntime-node does not load');
  tiny = await OnnxTinyFaceDetector.create(runtime, backend.tf, faceapi, cacheDir);
}, 120_000);

afterAll(async () => {
  await tiny?.dispose();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

/** A portrait (what the engine gives the tiny detector): one person of face-api's demo photos, with a margin. */
async function imageTensor(person: Person): Promise<tfjs.Tensor3D> {
  const { data, info } = await (await faceImage(person, 0.6)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return backend.tf.tensor3d(new Int32Array(data), [info.height, info.width, 3], 'int32');
}

describe('the tiny face detector on onnxruntime', () => {
  it('gives every grid cell the values face-api gives it on tfjs', async () => {
    let bestOverall = -Infinity;
    for (const inputSize of [160, 320, 416]) {
      const tensor = await imageTensor('A');
      const netInput = await faceapi.toNetInput(tensor as never);
      const batchTensor = backend.tf.tidy(() =>
        backend.tf.cast(netInput.toBatchTensor(inputSize, false) as unknown as tfjs.Tensor4D, 'float32'),
      );
      const batch = (await batchTensor.data()) as Float32Array;
      const reference = faceapi.nets.tinyFaceDetector.forwardInput(netInput, inputSize);
      const expected = reference.dataSync() as Float32Array;
      const cells = reference.shape[1];
      backend.tf.dispose([tensor, batchTensor, reference as never]);

      const { grid, cells: got } = await tiny.forward(batch, 1, inputSize);
      expect(got).toBe(cells);
      expect(grid).toHaveLength(expected.length);
      let diff = 0;
      for (let i = 0; i < grid.length; i++) diff = Math.max(diff, Math.abs(grid[i]! - expected[i]!));
      // The largest face score logit: the check must see a face, not only background (about -5).
      let best = -Infinity;
      for (let i = 4; i < expected.length; i += 5) best = Math.max(best, expected[i]!);
      console.log(
        `tiny detector on onnxruntime vs tfjs-wasm, input ${inputSize} (${cells}x${cells}x25): max |diff| ${diff.toExponential(2)} (logits up to ${best.toFixed(2)})`,
      );
      expect(best).toBeGreaterThan(-2);
      expect(diff).toBeLessThan(1e-4);
      bestOverall = Math.max(bestOverall, best);
    }
    expect(bestOverall).toBeGreaterThan(1);
  });

  it('finds the faces face-api finds in photos that ship with it, at the same places', async () => {
    for (const [person, inputSize] of [
      ['A', 320],
      ['B', 416],
      ['C', 160],
      ['D', 320],
    ] as const) {
      const tensor = await imageTensor(person);
      try {
        const options = { inputSize, scoreThreshold: 0.3 };
        const expected = await faceapi.nets.tinyFaceDetector.locateFaces(
          tensor as never,
          new faceapi.TinyFaceDetectorOptions(options),
        );
        const found = await tiny.locateFaces(tensor, options);
        expect(expected.length).toBeGreaterThanOrEqual(1);
        expect(found).toHaveLength(expected.length);
        found.forEach((d, i) => {
          expect(d.score).toBeCloseTo(expected[i]!.score, 4);
          for (const k of ['x', 'y', 'width', 'height'] as const) expect(d.box[k]).toBeCloseTo(expected[i]!.box[k], 1);
        });
      } finally {
        tensor.dispose();
      }
    }
  });

  it('builds the graph once into its cache folder and reads it from there afterwards', async () => {
    const files = await readdir(cacheDir);
    expect(files).toEqual([path.basename(tiny.file)]);
    expect(tiny.file).toMatch(/face-api-tiny-face-detector-[0-9a-f]{16}\.onnx$/);
    const again = await OnnxTinyFaceDetector.create(loadOnnxRuntime()!, backend.tf, faceapi, cacheDir);
    expect(again.file).toBe(tiny.file);
    await again.dispose();
    expect(await readdir(cacheDir)).toEqual(files);
  });
});
