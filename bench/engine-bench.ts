/**
 * npm run bench:engine [-- --n 200]
 * Embeds the same N LFW images two ways in one run:
 *  (a) baseline: @vladmandic/face-api as its docs show (detectAllFaces with the default SSD detector,
 *      withFaceLandmarks, withFaceDescriptors), one image after another on this thread;
 *  (b) facepipe's FaceEngine with its defaults (worker threads, micro-batcher).
 * Both decode with sharp. Prints images/s for both, the ratio (b)/(a) and both no-face counts.
 */
import { z } from 'zod';
import { decodeImage, DEFAULT_MAX_PIXELS } from '../src/engine/decode-image.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_API_MODEL_DIR, loadFaceApi } from '../src/engine/face-models.js';
import { selectBackend } from '../src/engine/tf-backend.js';
import { forEachConcurrent } from '../src/util/for-each-concurrent.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';
import { lfwSample } from './lfw-sample.js';

const { n } = optionsOrExit('bench:engine', () =>
  parseOptions({ n: { type: 'string', default: '200' } }, z.object({ n: integer(1) })),
);
const files = lfwSample(n);

async function baseline(): Promise<{ seconds: number; noFace: number; backend: string }> {
  const backend = await selectBackend();
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

async function facepipe(): Promise<{ seconds: number; noFace: number; backend: string; threads: number }> {
  const engine = await FaceEngine.start();
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
const b = await facepipe();
const rate = (r: { seconds: number }) => files.length / r.seconds;
console.log(`images: ${files.length}`);
console.log(`baseline (face-api SSD, 1 thread, ${a.backend}): ${rate(a).toFixed(2)} images/s, no face in ${a.noFace}`);
console.log(`facepipe (${b.threads} threads, ${b.backend}): ${rate(b).toFixed(2)} images/s, no face in ${b.noFace}`);
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
  }),
);
