import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import type { InferenceSession } from 'onnxruntime-node';
import { FACE_API_MODEL_DIR, type FaceApi } from '../face-models.js';
import type { TfBackend } from '../tf-backend.js';
import { buildKey, onnxCacheDir } from './onnx-graph-cache.js';
import { cachedOnnxModel } from './onnx-model-cache.js';
import type { OnnxRuntime } from './onnx-runtime.js';
import {
  buildTinyFaceDetectorGraph,
  TINY_INPUT_NAME,
  TINY_OUTPUT_NAME,
  type TinyFaceDetectorWeights,
} from './tiny-face-detector-graph.js';
import { type FaceApiTensor, readWeightTensor } from './face-api-weights.js';

/** Bumped whenever the graph builder writes a different graph for the same weights. */
const GRAPH_VERSION = 'tiny-face-detector/1';
const WEIGHT_FILES = ['tiny_face_detector_model-weights_manifest.json', 'tiny_face_detector_model.bin'];
/** Values per anchor in a grid cell: x, y, w, h, score (one class, no class scores). */
const BOX_ENCODING = 5;

type FaceDetection = InstanceType<FaceApi['FaceDetection']>;

/** face-api's loaded tiny-detector parameters (its weight files, dequantised by face-api) as float32 arrays. */
function weightsOf(faceapi: FaceApi): TinyFaceDetectorWeights {
  const params = faceapi.nets.tinyFaceDetector.params as unknown as
    | Record<string, Record<string, FaceApiTensor>>
    | undefined;
  if (!params) throw new Error('OnnxTinyFaceDetector: load face-api tinyFaceDetector first');
  const conv = (p: Record<string, FaceApiTensor>) => ({
    filters: readWeightTensor(p.filters!),
    bias: readWeightTensor(p.bias!),
  });
  if (params.conv6 || params.conv7)
    throw new Error('OnnxTinyFaceDetector: unexpected conv6/conv7 (not the tiny face detector)');
  return {
    conv0: conv(params.conv0!),
    separable: ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'].map((name) => {
      const p = params[name]!;
      return {
        depthwise_filter: readWeightTensor(p.depthwise_filter!),
        pointwise_filter: readWeightTensor(p.pointwise_filter!),
        bias: readWeightTensor(p.bias!),
      };
    }),
    conv8: conv(params.conv8!),
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * face-api's tiny face detector with its network on onnxruntime: the same input (face-api's own
 * toBatchTensor(inputSize), on tfjs), the same weights, the same box decoding and suppression
 * (TinyYolov2Base.extractBoxes and face-api's nonMaxSuppression), so `locateFaces` answers as
 * `nets.tinyFaceDetector.locateFaces` does.
 */
export class OnnxTinyFaceDetector {
  private constructor(
    private readonly runtime: OnnxRuntime,
    private readonly session: InferenceSession,
    private readonly tf: TfBackend['tf'],
    private readonly faceapi: FaceApi,
    /** Where the graph is cached. */
    readonly file: string,
  ) {}

  /** Builds the graph from face-api's loaded tiny detector (or reads it from the cache) and opens a session. */
  static async create(
    runtime: OnnxRuntime,
    tf: TfBackend['tf'],
    faceapi: FaceApi,
    cacheDir?: string,
  ): Promise<OnnxTinyFaceDetector> {
    const weights = weightsOf(faceapi);
    const files = await Promise.all(WEIGHT_FILES.map((f) => readFile(path.join(FACE_API_MODEL_DIR, f))));
    const key = buildKey([GRAPH_VERSION, ...files]);
    const file = await cachedOnnxModel(cacheDir ?? onnxCacheDir(), 'face-api-tiny-face-detector', key, () =>
      buildTinyFaceDetectorGraph(weights),
    );
    const session = await runtime.ort.InferenceSession.create(file, runtime.sessionOptions);
    return new OnnxTinyFaceDetector(runtime, session, tf, faceapi, file);
  }

  /** The network's raw output for face-api batch tensors ([n, size, size, 3], 0..255): [n, cells, cells, 25]. */
  async forward(batch: Float32Array, n: number, size: number): Promise<{ grid: Float32Array; cells: number }> {
    const { Tensor } = this.runtime.ort;
    const out = await this.session.run({ [TINY_INPUT_NAME]: new Tensor('float32', batch, [n, size, size, 3]) });
    const grid = out[TINY_OUTPUT_NAME]!;
    return { grid: grid.data as Float32Array, cells: grid.dims[1]! };
  }

  /** face-api's `locateFaces` on one image (an int32 or float32 [h, w, 3] tensor). */
  async locateFaces(
    input: tfjs.Tensor3D,
    options: { inputSize: number; scoreThreshold: number },
  ): Promise<FaceDetection[]> {
    const { faceapi } = this;
    const { inputSize, scoreThreshold } = options;
    const netInput = await faceapi.toNetInput(input as never);
    const batchTensor = this.tf.tidy(
      () =>
        this.tf.cast(netInput.toBatchTensor(inputSize, false) as unknown as tfjs.Tensor4D, 'float32') as tfjs.Tensor4D,
    );
    let batch: Float32Array;
    try {
      batch = (await batchTensor.data()) as Float32Array;
    } finally {
      batchTensor.dispose();
    }
    const { grid, cells } = await this.forward(batch, 1, inputSize);

    // TinyYolov2Base.extractBoxes, value for value.
    const reshaped = netInput.getReshapedInputDimensions(0);
    const size = Math.max(reshaped.width, reshaped.height);
    const correctX = size / reshaped.width;
    const correctY = size / reshaped.height;
    const anchors = faceapi.nets.tinyFaceDetector.anchors;
    const boxes: Array<InstanceType<FaceApi['BoundingBox']>> = [];
    const scores: number[] = [];
    for (let row = 0; row < cells; row++) {
      for (let col = 0; col < cells; col++) {
        for (let anchor = 0; anchor < anchors.length; anchor++) {
          const at = ((row * cells + col) * anchors.length + anchor) * BOX_ENCODING;
          const score = sigmoid(grid[at + 4]!);
          if (scoreThreshold && !(score > scoreThreshold)) continue;
          const ctX = ((col + sigmoid(grid[at]!)) / cells) * correctX;
          const ctY = ((row + sigmoid(grid[at + 1]!)) / cells) * correctY;
          const width = ((Math.exp(grid[at + 2]!) * anchors[anchor]!.x) / cells) * correctX;
          const height = ((Math.exp(grid[at + 3]!) * anchors[anchor]!.y) / cells) * correctY;
          const x = ctX - width / 2;
          const y = ctY - height / 2;
          boxes.push(new faceapi.BoundingBox(x, y, x + width, y + height));
          scores.push(score);
        }
      }
    }
    const keep = faceapi.nonMaxSuppression(
      boxes.map((box) => box.rescale(inputSize)),
      scores,
      faceapi.nets.tinyFaceDetector.config.iouThreshold,
      true,
    );
    const dims = { width: netInput.getInputWidth(0), height: netInput.getInputHeight(0) };
    return keep.map((i) => new faceapi.FaceDetection(scores[i]!, boxes[i]!, dims));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
