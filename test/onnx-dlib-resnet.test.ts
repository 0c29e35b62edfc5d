/**
 * dlib's ResNet on onnxruntime against the tfjs implementation the engine runs (face-api's net with
 * dlib's float32 weights, on wasm): same chips from the photos that ship in @vladmandic/face-api,
 * same embeddings.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlibResnetEmbedder } from '../src/engine/dlib-resnet-embedder.js';
import { DLIB_RESNET_MODEL, FACE_API_MODEL_DIR, loadFaceApiNets } from '../src/engine/face-models.js';
import { OnnxDlibResnetEmbedder } from '../src/engine/onnx/onnx-dlib-resnet-embedder.js';
import { selectBackend } from '../src/engine/tf-backend.js';
import { faceChip, maxAbsDiff } from './support/face-chips.js';
import { PEOPLE, type Person } from './support/sample-faces.js';

const FILES = { dlibFile: DLIB_RESNET_MODEL, faceApiModelDir: FACE_API_MODEL_DIR };

describe("dlib's ResNet on onnxruntime", () => {
  let cacheDir: string;
  let onnx: OnnxDlibResnetEmbedder;
  let tfjs: DlibResnetEmbedder;
  /** Two views of each person (two crops), as the engine's two alignments. */
  const faces: Uint8Array[][] = [];

  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-onnx-resnet-'));
    const backend = await selectBackend('wasm');
    tfjs = new DlibResnetEmbedder(backend.tf, await loadFaceApiNets(backend, ['faceRecognitionNet']), {
      flipTta: true,
    });
    onnx = await OnnxDlibResnetEmbedder.load(FILES, { flipTta: true }, { cacheDir });
    for (const person of Object.keys(PEOPLE) as Person[])
      faces.push([await faceChip(person, 0.05, 150), await faceChip(person, 0.2, 150)]);
  });
  afterAll(async () => {
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('gives the embeddings the tfjs ResNet gives, to within 1e-4, in one batch of every face', async () => {
    const [expected, actual] = [await tfjs.embed(faces), await onnx.embed(faces)];
    expect(actual.length).toBe(faces.length);
    const worst = Math.max(...actual.map((row, i) => maxAbsDiff(row, expected[i])));
    console.log(
      `dlib ResNet, onnx vs tfjs-wasm: max abs difference ${worst.toExponential(2)} over ${faces.length} faces`,
    );
    expect(worst).toBeLessThan(1e-4);
    // Real embeddings, not a constant: the four people are far apart.
    for (let i = 1; i < actual.length; i++)
      expect(Math.hypot(...actual[i].map((v, k) => v - actual[0][k]))).toBeGreaterThan(0.4);
  });

  it('gives each face the same embedding alone as in a batch, without flip TTA too', async () => {
    const plain = await OnnxDlibResnetEmbedder.load(FILES, { flipTta: false }, { cacheDir });
    const batch = await plain.embed(faces);
    const alone = await plain.embed([faces[2]]);
    expect(maxAbsDiff(alone[0], batch[2])).toBeLessThan(1e-5);
    const flipped = await onnx.embed([faces[2]]);
    expect(maxAbsDiff(flipped[0], batch[2])).toBeGreaterThan(1e-3);
  });

  it('builds the graph once into the cache folder, named by the weights hash', async () => {
    const files = await readdir(cacheDir);
    expect(files).toEqual([expect.stringMatching(/^dlib-resnet-[0-9a-f]{16}\.onnx$/)]);
    const before = await stat(path.join(cacheDir, files[0]));
    await OnnxDlibResnetEmbedder.load(FILES, { flipTta: true }, { cacheDir });
    expect(await readdir(cacheDir)).toEqual(files);
    expect((await stat(path.join(cacheDir, files[0]))).mtimeMs).toBe(before.mtimeMs);
  });
});
