/**
 * Human's FaceRes translated from its tfjs graph to ONNX, against the engine's tfjs implementation
 * (FaceResEmbedder on wasm), on faces of the photos that ship in @vladmandic/face-api.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACERES_MODEL, loadGraphModel } from '../src/engine/face-models.js';
import { FaceResEmbedder } from '../src/engine/faceres-embedder.js';
import { OnnxFaceResEmbedder } from '../src/engine/onnx/onnx-faceres-embedder.js';
import { convertTfjsGraph } from '../src/engine/onnx/tfjs-graph-converter.js';
import { selectBackend } from '../src/engine/tf-backend.js';
import { faceChip, maxAbsDiff } from './support/face-chips.js';
import { PEOPLE, type Person } from './support/sample-faces.js';

describe("Human's FaceRes on onnxruntime", () => {
  let cacheDir: string;
  let onnx: OnnxFaceResEmbedder;
  let tfjs: FaceResEmbedder;
  const faces: Uint8Array[][] = [];

  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-onnx-faceres-'));
    const backend = await selectBackend('wasm');
    tfjs = new FaceResEmbedder(backend.tf, await loadGraphModel(backend.tf, FACERES_MODEL));
    onnx = await OnnxFaceResEmbedder.load({ modelJson: FACERES_MODEL }, { cacheDir });
    for (const person of Object.keys(PEOPLE) as Person[]) faces.push([await faceChip(person, 0.3, 224)]);
  });
  afterAll(async () => {
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('gives the descriptors the tfjs graph gives, to within 1e-4, in one batch of every face', async () => {
    const [expected, actual] = [await tfjs.embed(faces), await onnx.embed(faces)];
    expect(actual.length).toBe(faces.length);
    const worst = Math.max(...actual.map((row, i) => maxAbsDiff(row, expected[i])));
    const largest = Math.max(...expected.map((row) => Math.max(...row.map(Math.abs))));
    console.log(
      `FaceRes, onnx vs tfjs-wasm: max abs difference ${worst.toExponential(2)} (largest |value| ${largest.toFixed(2)}) over ${faces.length} faces`,
    );
    expect(worst).toBeLessThan(1e-4);
    for (let i = 1; i < actual.length; i++) expect(maxAbsDiff(actual[i], actual[0])).toBeGreaterThan(0.1);
  });

  it('names the node and op it cannot translate', () => {
    const nodes = [
      { name: 'x', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } } } },
      { name: 'y', op: 'Erf', input: ['x'] },
    ];
    expect(() => convertTfjsGraph('toy', nodes, new Map(), ['y'])).toThrow(
      /toy: node y \(Erf\): no ONNX translation for this op/,
    );
  });
});
