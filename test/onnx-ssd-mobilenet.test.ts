/**
 * face-api's SSD-MobileNetV1 on onnxruntime (src/engine/onnx/) against face-api's own on tfjs-wasm:
 * the same weights, the same input, every anchor's box and score, then the detections of a group
 * photo that ships with face-api.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, DEFAULT_MAX_PIXELS } from '../src/engine/decode-image.js';
import { type FaceApi, loadFaceApiNets } from '../src/engine/face-models.js';
import { loadOnnxRuntime } from '../src/engine/onnx/onnx-runtime.js';
import { OnnxSsdMobilenet } from '../src/engine/onnx/onnx-ssd-mobilenet.js';
import { decodeBox, ssdScores } from '../src/engine/onnx/ssd-box-decoder.js';
import { selectBackend, type TfBackend } from '../src/engine/tf-backend.js';
import { sample } from './support/sample-faces.js';

let backend: TfBackend;
let faceapi: FaceApi;
let ssd: OnnxSsdMobilenet;
let cacheDir: string;

beforeAll(async () => {
  backend = await selectBackend('wasm');
  faceapi = await loadFaceApiNets(backend, ['ssdMobilenetv1']);
  cacheDir = await mkdtemp(path.join(tmpdir(), 'facepipe-onnx-test-'));
  const runtime = loadOnnxRuntime();
  if (!runtime) throw new Error('onnxruntime-node does not load');
  ssd = await OnnxSsdMobilenet.create(runtime, backend.tf, faceapi, cacheDir);
}, 120_000);

afterAll(async () => {
  await ssd?.dispose();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

async function imageTensor(n: number): Promise<tfjs.Tensor3D> {
  const image = await decodeImage(sample(n), { maxPixels: DEFAULT_MAX_PIXELS });
  return backend.tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
}

describe('SSD-MobileNetV1 on onnxruntime', () => {
  it('gives every anchor the box and score face-api gives it on tfjs', async () => {
    const tensor = await imageTensor(1);
    const netInput = await faceapi.toNetInput(tensor as never);
    const batchTensor = backend.tf.tidy(() => netInput.toBatchTensor(512, false) as unknown as tfjs.Tensor4D);
    const batch = (await batchTensor.data()) as Float32Array;
    const reference = faceapi.nets.ssdMobilenetv1.forwardInput(netInput);
    const tfBoxes = reference.boxes[0]!.dataSync() as Float32Array;
    const tfScores = reference.scores[0]!.dataSync() as Float32Array;
    backend.tf.dispose([tensor, batchTensor, ...(reference.boxes as never[]), ...(reference.scores as never[])]);

    const { encodings, logits } = await ssd.forward(batch, 1);
    const anchorBoxes = Float32Array.from(faceapi.nets.ssdMobilenetv1.params!.output_layer.extra_dim.dataSync());
    const anchors = anchorBoxes.length / 4;
    expect(anchors).toBe(5118);
    const scores = ssdScores(logits, anchors);
    let scoreDiff = 0;
    let boxDiff = 0;
    for (let i = 0; i < anchors; i++) {
      scoreDiff = Math.max(scoreDiff, Math.abs(scores[i]! - tfScores[i]!));
      decodeBox(encodings, anchorBoxes, i).forEach((v, k) => {
        boxDiff = Math.max(boxDiff, Math.abs(v - tfBoxes[i * 4 + k]!));
      });
    }
    console.log(
      `SSD on onnxruntime vs tfjs-wasm, 5118 anchors: max |score diff| ${scoreDiff.toExponential(2)}, max |box diff| ${boxDiff.toExponential(2)} (relative units)`,
    );
    // The faces' anchors score near 1: the check must see real detections, not only background.
    expect(Math.max(...tfScores)).toBeGreaterThan(0.9);
    expect(scoreDiff).toBeLessThan(1e-4);
    expect(boxDiff).toBeLessThan(1e-4);
  });

  it('finds the faces face-api finds in a group photo, at the same places', async () => {
    const options = { minConfidence: 0.3, maxResults: 100 };
    for (const n of [1, 4]) {
      const tensor = await imageTensor(n);
      try {
        const expected = await faceapi.nets.ssdMobilenetv1.locateFaces(
          tensor as never,
          new faceapi.SsdMobilenetv1Options(options),
        );
        const found = await ssd.locateFaces(tensor, options);
        expect(found.length).toBeGreaterThanOrEqual(3);
        expect(found.map((d) => d.score)).toHaveLength(expected.length);
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
    expect(files).toEqual([path.basename(ssd.file)]);
    expect(ssd.file).toMatch(/face-api-ssd-mobilenetv1-[0-9a-f]{16}\.onnx$/);
    const runtime = loadOnnxRuntime()!;
    const again = await OnnxSsdMobilenet.create(runtime, backend.tf, faceapi, cacheDir);
    expect(again.file).toBe(ssd.file);
    await again.dispose();
    expect(await readdir(cacheDir)).toEqual(files);
  });
});
