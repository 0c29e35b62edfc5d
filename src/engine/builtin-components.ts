/**
 * The components that ship with facepipe, registered on import (the engine's workers import this
 * module; a card names them, see face-model.ts).
 */
import {
  registerDetector,
  registerEmbedder,
  registerLandmarkModel,
  type ComponentContext,
} from './component-registry.js';
import { DlibResnetEmbedder } from './dlib-resnet-embedder.js';
import { DlibShapePredictor } from './dlib-shape-predictor.js';
import { FaceApiDetector } from './face-detector.js';
import { FaceApiLandmarks } from './face-api-landmarks.js';
import {
  DLIB_FIVE_POINT_MODEL,
  DLIB_RESNET_MODEL,
  FACE_API_MODEL_DIR,
  FACERES_MODEL,
  loadFaceApiNets,
  loadGraphModel,
} from './face-models.js';
import { FaceResEmbedder } from './faceres-embedder.js';
import { FusedEmbedder } from './fused-embedder.js';
import { OnnxDlibResnetEmbedder } from './onnx/onnx-dlib-resnet-embedder.js';
import { OnnxFaceLandmarks } from './onnx/onnx-face-landmarks.js';
import { OnnxFaceResEmbedder } from './onnx/onnx-faceres-embedder.js';
import { OnnxSsdMobilenet } from './onnx/onnx-ssd-mobilenet.js';
import { OnnxTinyFaceDetector } from './onnx/onnx-tiny-face-detector.js';

/**
 * The norm of FaceRes's descriptor against the ResNet's embedding (norm about 1.4) in the fusion.
 * Squared Euclidean distance over the concatenation is then the ResNet's plus 0.0625 x FaceRes's.
 * Chosen on LFW (folds 1-5): 0.15 to 0.35 all gave the same accuracy.
 */
const FACERES_WEIGHT = 0.25;

// On the onnx backend every network below runs on onnxruntime (src/engine/onnx/), built from the
// same weight files; on the others on tfjs.
const dlibResnet = async ({ backend, options }: ComponentContext) =>
  backend.onnx
    ? OnnxDlibResnetEmbedder.load(
        { dlibFile: DLIB_RESNET_MODEL, faceApiModelDir: FACE_API_MODEL_DIR },
        options,
        backend.onnx.modelOptions,
      )
    : new DlibResnetEmbedder(backend.tf, await loadFaceApiNets(backend, ['faceRecognitionNet']), options);
const faceres = async ({ backend }: ComponentContext) =>
  backend.onnx
    ? OnnxFaceResEmbedder.load({ modelJson: FACERES_MODEL }, backend.onnx.modelOptions)
    : new FaceResEmbedder(backend.tf, await loadGraphModel(backend.tf, FACERES_MODEL));

registerDetector('face-api', async ({ backend, options }) => {
  const faceapi = await loadFaceApiNets(backend, ['ssdMobilenetv1', 'tinyFaceDetector']);
  // On onnx, both detectors' networks run on onnxruntime; their input and decoding stay face-api's.
  if (!backend.onnx) return new FaceApiDetector(backend.tf, faceapi, options);
  const [ssd, tiny] = await Promise.all([
    OnnxSsdMobilenet.create(backend.onnx, backend.tf, faceapi),
    OnnxTinyFaceDetector.create(backend.onnx, backend.tf, faceapi),
  ]);
  return new FaceApiDetector(backend.tf, faceapi, options, ssd, tiny);
});
registerLandmarkModel('face-api-68+dlib-5', async ({ backend }) => {
  if (backend.onnx) {
    return OnnxFaceLandmarks.load(
      { faceApiModelDir: FACE_API_MODEL_DIR, fivePointModel: DLIB_FIVE_POINT_MODEL },
      backend.onnx.modelOptions,
    );
  }
  const [faceapi, fivePointModel] = await Promise.all([
    loadFaceApiNets(backend, ['faceLandmark68Net']),
    DlibShapePredictor.load(DLIB_FIVE_POINT_MODEL),
  ]);
  return new FaceApiLandmarks(backend.tf, faceapi, fivePointModel);
});
registerEmbedder('dlib-resnet', dlibResnet);
registerEmbedder('human-faceres', faceres);
registerEmbedder('dlib-resnet+human-faceres', async (context) => {
  const [resnet, descriptor] = await Promise.all([dlibResnet(context), faceres(context)]);
  return new FusedEmbedder([
    { embedder: resnet, name: 'dlib-resnet' },
    { embedder: descriptor, norm: FACERES_WEIGHT, name: 'human-faceres' },
  ]);
});
