/**
 * npm run bench:engine [-- --n 200] [--backends wasm,onnx]
 * Embeds the same N LFW images several ways in one run:
 *  (a) baseline: @vladmandic/face-api as its docs show (detectAllFaces with the default SSD detector,
 *      withFaceLandmarks, withFaceDescriptors), one image after another on this thread, on tfjs;
 *  (b) facepipe's FaceEngine with its defaults (worker threads, micro-batcher), once per backend of
 *      --backends (e.g. wasm, then onnx).
 * All decode with sharp. Prints images/s of each, each facepipe's ratio to (a) and the no-face
 * counts; the JSON line's facepipe* fields are the last backend's.
 */
import { z } from 'zod';
import { decodeImage, DEFAULT_MAX_PIXELS } from '../src/engine/decode-image.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_API_MODEL_DIR, loadFaceApi } from '../src/engine/face-models.js';
import { BACKEND_NAMES, type BackendName, selectBackend } from '../src/engine/tf-backend.js';
import { forEachConcurrent } from '../src/util/for-each-concurrent.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';
import { lfwSample } from './lfw-sample.js';

const { n, backends } = optionsOrExit('bench:engine', () =>
  parseOptions(
    { n: { type: 'string', default: '200' }, backends: { type: 'string', default: 'wasm,onnx' } },
    z.object({
      n: integer(1),
      backends: z
        .string()
        .transform((s) => s.split(',').map((b) => b.trim()))
        .pipe(z.array(z.enum(BACKEND_NAMES)).min(1)),
    }),
  ),
);
const files = lfwSample(n);

async function baseline(): Promise<{ seconds: number; noFace: number; backend: string }> {
  // face-api runs on tfjs: with onnx picked, on the tfjs backend beside it (wasm).
  const picked = await selectBackend();
  const backend = picked.kind === 'onnx' ? await selectBackend('wasm') : picked;
  const faceapi = await loadFaceApi(backend);
  // face-api's own recognition weights, as its docs load them (loadFaceApi gives it dlib's float32 ones).
  await faceapi.nets.faceRecognitionNet.loadFromDisk(FACE_API_MODEL_DIR);
  let noFace = 0;
  const start = performance.now();
  for (const file of files) {
    const image = await decodeImage(file, { maxPixels: DEFAULT_MAX_PIXELS });
    const tensor = backend.tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    const faces = await faceapi
      .detectAllFaces(tensor as never)
      .withFaceLandmarks()
      .withFaceDescriptors();
    tensor.dispose();
    if (faces.length === 0) noFace++;
  }
  return { seconds: (performance.now() - start) / 1000, noFace, backend: backend.name };
}

async function facepipe(
  backend: BackendName,
): Promise<{ seconds: number; noFace: number; backend: string; threads: number }> {
  const engine = await FaceEngine.start({ backend });
  let noFace = 0;
  const start = performance.now();
  // Keep every worker busy: a few images in flight per thread.
  await forEachConcurrent(files, engine.options.threads * 2, async (file) => {
    const { faces } = await engine.analyze(file);
    if (faces.length === 0) noFace++;
  });
  const seconds = (performance.now() - start) / 1000;
  await engine.close();
  return { seconds, noFace, backend: engine.backend, threads: engine.options.threads };
}

const a = await baseline();
const runs = [];
for (const backend of backends) runs.push(await facepipe(backend));
const rate = (r: { seconds: number }) => files.length / r.seconds;
console.log(`images: ${files.length}`);
console.log(`baseline (face-api SSD, 1 thread, ${a.backend}): ${rate(a).toFixed(2)} images/s, no face in ${a.noFace}`);
for (const b of runs) {
  console.log(
    `facepipe (${b.threads} threads, ${b.backend}): ${rate(b).toFixed(2)} images/s, no face in ${b.noFace}; ratio to baseline ${(rate(b) / rate(a)).toFixed(2)}`,
  );
}
const b = runs[runs.length - 1]!;
console.log(`ratio: ${(rate(b) / rate(a)).toFixed(2)}`);
console.log(
  JSON.stringify({
    images: files.length,
    baselineImagesPerSecond: rate(a),
    facepipeImagesPerSecond: rate(b),
    ratio: rate(b) / rate(a),
    baselineNoFace: a.noFace,
    facepipeNoFace: b.noFace,
    backend: b.backend,
    baselineBackend: a.backend,
    backends: runs.map((r) => ({
      backend: r.backend,
      imagesPerSecond: rate(r),
      ratio: rate(r) / rate(a),
      noFace: r.noFace,
    })),
  }),
);
