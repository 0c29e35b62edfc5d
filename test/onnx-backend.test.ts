/**
 * The onnx backend end to end: selected by name, SSD and the tiny detector on onnxruntime inside the
 * engine's worker threads finding what the wasm backend finds, and the per-stage timings of an image.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceEngine } from '../src/engine/face-engine.js';
import { faceImage, sample } from './support/sample-faces.js';

let onnx: FaceEngine;
let wasm: FaceEngine;
beforeAll(async () => {
  [onnx, wasm] = await Promise.all([
    FaceEngine.start({ threads: 1, backend: 'onnx' }),
    FaceEngine.start({ threads: 1, backend: 'wasm' }),
  ]);
}, 300_000);
afterAll(async () => {
  await Promise.all([onnx?.close(), wasm?.close()]);
});

describe('onnx backend', () => {
  it('names onnxruntime and the tfjs backend beside it', () => {
    expect(onnx.backend).toMatch(/^onnx \(onnxruntime-node \d+\.\d+\.\d+\) \+ wasm$/);
    expect(wasm.backend).toBe('wasm');
  });

  it('finds the faces the wasm backend finds, at the same places', async () => {
    // Scenes: SSD on the frame and on tiles (the onnx network), then the landmarks on tfjs.
    for (const n of [1, 4]) {
      const [a, b] = await Promise.all([onnx.detect(sample(n)), wasm.detect(sample(n))]);
      expect(a.faces.length).toBeGreaterThanOrEqual(3);
      expect(a.faces).toHaveLength(b.faces.length);
      a.faces.forEach((face, i) => {
        expect(face.score).toBeCloseTo(b.faces[i]!.score, 4);
        for (const k of ['x', 'y', 'width', 'height'] as const)
          expect(Math.abs(face.box[k] - b.faces[i]!.box[k])).toBeLessThan(0.05);
      });
    }
  }, 300_000);

  it('finds the face of a portrait (the tiny detector) where the wasm backend finds it', async () => {
    for (const person of ['A', 'B', 'C', 'D'] as const) {
      // A margin of half the face keeps each crop under 640 px: the portrait path.
      const bytes = await (await faceImage(person, 0.5)).jpeg({ quality: 90 }).toBuffer();
      const input = { bytes, name: `${person}.jpg` };
      const [a, b, timed] = await Promise.all([onnx.detect(input), wasm.detect(input), onnx.analyze(input)]);
      expect(a.faces).toHaveLength(1);
      expect(b.faces).toHaveLength(1);
      expect(a.faces[0]!.score).toBeCloseTo(b.faces[0]!.score, 4);
      for (const k of ['x', 'y', 'width', 'height'] as const)
        expect(Math.abs(a.faces[0]!.box[k] - b.faces[0]!.box[k])).toBeLessThan(0.05);
      // The portrait went through the tiny detector, not SSD.
      expect(timed.timings?.['detect.tiny.margin'], person).toBeGreaterThan(0);
    }
  }, 300_000);

  it('reports where the time of an image went, stage by stage', async () => {
    const { faces, timings } = await onnx.analyze(sample(1));
    expect(faces.length).toBeGreaterThanOrEqual(3);
    for (const stage of [
      'decode',
      'detect.ssd.frame',
      'detect.ssd.tiles',
      'landmarks.68',
      'landmarks.five',
      'align',
      'embed.dlib-resnet',
      'embed.human-faceres',
    ]) {
      expect(timings?.[stage], stage).toBeGreaterThan(0);
    }
  }, 300_000);
});
