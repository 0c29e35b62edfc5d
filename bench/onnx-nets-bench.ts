/**
 * npx tsx bench/onnx-nets-bench.ts [--faces 8 --rounds 7 --intra-op 1]
 * Per-face time of each network the engine runs, tfjs-wasm against onnxruntime-node, one thread
 * each, in one process and one run: dlib's ResNet (the engine's four views a face: two alignments,
 * flip TTA), face-api's 68-point landmarks (+ dlib's five points, all faces of one image) and
 * FaceRes. Faces: crops of the photos that ship in @vladmandic/face-api, `--faces` a batch. Each
 * round times tfjs then onnx on the same batch; the medians over `--rounds` (after one warm-up) are
 * printed, in ms a face, with their ratio: wall time, and the process's CPU time (less sensitive to
 * other processes on a shared machine; with one intra-op thread both runtimes compute on this thread).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { decodeImage } from '../src/engine/decode-image.js';
import { DlibResnetEmbedder } from '../src/engine/dlib-resnet-embedder.js';
import { DlibShapePredictor } from '../src/engine/dlib-shape-predictor.js';
import { FaceApiLandmarks } from '../src/engine/face-api-landmarks.js';
import type { FoundFace } from '../src/engine/face-detector-model.js';
import {
  DLIB_FIVE_POINT_MODEL,
  DLIB_RESNET_MODEL,
  FACE_API_MODEL_DIR,
  FACERES_MODEL,
  loadFaceApiNets,
  loadGraphModel,
} from '../src/engine/face-models.js';
import { FaceResEmbedder } from '../src/engine/faceres-embedder.js';
import { OnnxDlibResnetEmbedder } from '../src/engine/onnx/onnx-dlib-resnet-embedder.js';
import { OnnxFaceLandmarks } from '../src/engine/onnx/onnx-face-landmarks.js';
import { OnnxFaceResEmbedder } from '../src/engine/onnx/onnx-faceres-embedder.js';
import { selectBackend } from '../src/engine/tf-backend.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';

const options = optionsOrExit('onnx-nets-bench', () =>
  parseOptions(
    {
      faces: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '7' },
      'intra-op': { type: 'string', default: '1' },
    },
    z.object({ faces: integer(1), rounds: integer(1), 'intra-op': integer(1) }),
  ),
);

const SAMPLES = path.join(path.dirname(FACE_API_MODEL_DIR), 'demo');
/** Faces of sample5.jpg (boxes as `facepipe detect` finds them), repeated up to the batch size. */
const BOXES = [
  [1406, 389, 165, 271],
  [376, 859, 172, 300],
] as const;

async function chip(box: readonly number[], margin: number, size: number): Promise<Uint8Array> {
  const [x, y, w, h] = box;
  const left = Math.round(x - margin * w);
  const top = Math.round(y - margin * h);
  const data = await sharp(path.join(SAMPLES, 'sample5.jpg'))
    .extract({ left, top, width: Math.round(w * (1 + 2 * margin)), height: Math.round(h * (1 + 2 * margin)) })
    .resize(size, size, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer();
  return new Uint8Array(data);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Wall time and the process's CPU time (user + system) of one run, in ms. */
async function time(run: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  await run();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

async function main(): Promise<void> {
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-onnx-bench-'));
  try {
    const backend = await selectBackend('wasm');
    const onnxOptions = { cacheDir, intraOpNumThreads: options['intra-op'] };
    const [faceapi, fivePointModel, faceresModel] = await Promise.all([
      loadFaceApiNets(backend, ['faceRecognitionNet', 'faceLandmark68Net']),
      DlibShapePredictor.load(DLIB_FIVE_POINT_MODEL),
      loadGraphModel(backend.tf, FACERES_MODEL),
    ]);
    const files = { dlibFile: DLIB_RESNET_MODEL, faceApiModelDir: FACE_API_MODEL_DIR };
    const built = performance.now();
    const [onnxResnet, onnxLandmarks, onnxFaceres] = await Promise.all([
      OnnxDlibResnetEmbedder.load(files, { flipTta: true }, onnxOptions),
      OnnxFaceLandmarks.load(
        { faceApiModelDir: FACE_API_MODEL_DIR, fivePointModel: DLIB_FIVE_POINT_MODEL },
        onnxOptions,
      ),
      OnnxFaceResEmbedder.load({ modelJson: FACERES_MODEL }, onnxOptions),
    ]);
    console.log(`onnx graphs built and sessions opened in ${((performance.now() - built) / 1000).toFixed(1)} s`);
    const tfjsResnet = new DlibResnetEmbedder(backend.tf, faceapi, { flipTta: true });
    const tfjsFaceres = new FaceResEmbedder(backend.tf, faceresModel);
    const n = options.faces;
    const pick = <T>(list: readonly T[], i: number) => list[i % list.length];
    const resnetFaces = await Promise.all(
      Array.from({ length: n }, async (_, i) => [
        await chip(pick(BOXES, i), 0.05, 150),
        await chip(pick(BOXES, i), 0.2, 150),
      ]),
    );
    const faceresFaces = await Promise.all(
      Array.from({ length: n }, async (_, i) => [await chip(pick(BOXES, i), 0.3, 224)]),
    );
    const image = await decodeImage(path.join(SAMPLES, 'sample5.jpg'), { maxPixels: 1e8 });
    const found: FoundFace[] = Array.from({ length: n }, (_, i) => {
      const [x, y, width, height] = pick(BOXES, i);
      return { box: { x: x + (i % 3), y: y - (i % 2), width, height }, score: 1 };
    });
    const tfjsLandmarks = new FaceApiLandmarks(backend.tf, faceapi, fivePointModel);

    const rows: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      ['dlib ResNet (4 views a face)', () => tfjsResnet.embed(resnetFaces), () => onnxResnet.embed(resnetFaces)],
      [
        '68-point landmarks + dlib 5',
        () => tfjsLandmarks.landmarks(image, found),
        () => onnxLandmarks.landmarks(image, found),
      ],
      ['FaceRes', () => tfjsFaceres.embed(faceresFaces), () => onnxFaceres.embed(faceresFaces)],
    ];
    console.log(
      `backend ${backend.name} vs onnxruntime-node (intra-op threads ${options['intra-op']}); ${n} faces a batch, ${options.rounds} rounds`,
    );
    console.log(
      '| network | tfjs-wasm ms/face | onnx ms/face | onnx speed-up | tfjs-wasm CPU ms/face | onnx CPU ms/face | CPU ratio |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const [name, tfjsRun, onnxRun] of rows) {
      await tfjsRun();
      await onnxRun();
      const tfjsTimes: { wall: number; cpu: number }[] = [];
      const onnxTimes: { wall: number; cpu: number }[] = [];
      for (let r = 0; r < options.rounds; r++) {
        tfjsTimes.push(await time(tfjsRun));
        onnxTimes.push(await time(onnxRun));
      }
      const perFace = (times: { wall: number; cpu: number }[], key: 'wall' | 'cpu') =>
        median(times.map((t) => t[key])) / n;
      const [t, o] = [perFace(tfjsTimes, 'wall'), perFace(onnxTimes, 'wall')];
      const [tc, oc] = [perFace(tfjsTimes, 'cpu'), perFace(onnxTimes, 'cpu')];
      console.log(
        `| ${name} | ${t.toFixed(1)} | ${o.toFixed(1)} | ${(t / o).toFixed(2)}x | ${tc.toFixed(1)} | ${oc.toFixed(1)} | ${(tc / oc).toFixed(2)}x |`,
      );
    }
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

await main();
