import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import type { InferenceSession } from 'onnxruntime-node';
import { FACE_API_MODEL_DIR, type FaceApi } from '../face-models.js';
import type { TfBackend } from '../tf-backend.js';
import { buildKey, onnxCacheDir } from './onnx-graph-cache.js';
import { cachedOnnxModel } from './onnx-model-cache.js';
import type { OnnxRuntime } from './onnx-runtime.js';
import { decodeSsd, type SsdBox } from './ssd-box-decoder.js';
import {
  buildSsdMobilenetGraph,
  SSD_BOX_ENCODINGS,
  SSD_CLASS_LOGITS,
  SSD_INPUT,
  SSD_INPUT_SIZE,
  type SsdMobilenetWeights,
} from './ssd-mobilenet-graph.js';
import { type FaceApiTensor, readWeightTensor } from './face-api-weights.js';

/** Bumped whenever the graph builder writes a different graph for the same weights. */
const GRAPH_VERSION = 'ssd-mobilenetv1/1';
const WEIGHT_FILES = ['ssd_mobilenetv1_model-weights_manifest.json', 'ssd_mobilenetv1_model.bin'];

type FaceDetection = InstanceType<FaceApi['FaceDetection']>;
type Params = NonNullable<FaceApi['nets']['ssdMobilenetv1']['params']>;

/** face-api's loaded SSD parameters (its weight files, dequantised by face-api) as float32 arrays. */
function weightsOf(params: Params): SsdMobilenetWeights {
  const body = params.mobilenetv1;
  const pointwise = (p: { filters: FaceApiTensor; batch_norm_offset: FaceApiTensor }) => ({
    filters: readWeightTensor(p.filters),
    batch_norm_offset: readWeightTensor(p.batch_norm_offset),
  });
  const conv = (p: { filters: FaceApiTensor; bias: FaceApiTensor }) => ({
    filters: readWeightTensor(p.filters),
    bias: readWeightTensor(p.bias),
  });
  const pairs = [
    body.conv_1,
    body.conv_2,
    body.conv_3,
    body.conv_4,
    body.conv_5,
    body.conv_6,
    body.conv_7,
    body.conv_8,
    body.conv_9,
    body.conv_10,
    body.conv_11,
    body.conv_12,
    body.conv_13,
  ].map(({ depthwise_conv: d, pointwise_conv }) => ({
    depthwise_conv: {
      filters: readWeightTensor(d.filters),
      batch_norm_scale: readWeightTensor(d.batch_norm_scale),
      batch_norm_offset: readWeightTensor(d.batch_norm_offset),
      batch_norm_mean: readWeightTensor(d.batch_norm_mean),
      batch_norm_variance: readWeightTensor(d.batch_norm_variance),
    },
    pointwise_conv: pointwise(pointwise_conv),
  }));
  const p = params.prediction_layer;
  return {
    mobilenetv1: { conv_0: pointwise(body.conv_0), pairs },
    prediction_layer: {
      convs: [p.conv_0, p.conv_1, p.conv_2, p.conv_3, p.conv_4, p.conv_5, p.conv_6, p.conv_7].map(pointwise),
      box_predictors: [
        p.box_predictor_0,
        p.box_predictor_1,
        p.box_predictor_2,
        p.box_predictor_3,
        p.box_predictor_4,
        p.box_predictor_5,
      ].map((b) => ({
        box_encoding_predictor: conv(b.box_encoding_predictor),
        class_predictor: conv(b.class_predictor),
      })),
    },
    extra_dim: readWeightTensor(params.output_layer.extra_dim),
  };
}

/**
 * face-api's SSD-MobileNetV1 with its network on onnxruntime: the same input (face-api's own
 * toBatchTensor(512), on tfjs), the same weights, the same decoding and suppression, so
 * `locateFaces` answers as face-api's `nets.ssdMobilenetv1.locateFaces` does.
 */
export class OnnxSsdMobilenet {
  private constructor(
    private readonly runtime: OnnxRuntime,
    private readonly session: InferenceSession,
    private readonly tf: TfBackend['tf'],
    private readonly faceapi: FaceApi,
    /** The anchors, [5118 x 4]. */
    private readonly anchors: Float32Array,
    /** Where the graph is cached. */
    readonly file: string,
  ) {}

  /** Builds the graph from face-api's loaded SSD (or reads it from the cache) and opens a session. */
  static async create(
    runtime: OnnxRuntime,
    tf: TfBackend['tf'],
    faceapi: FaceApi,
    cacheDir?: string,
  ): Promise<OnnxSsdMobilenet> {
    const params = faceapi.nets.ssdMobilenetv1.params;
    if (!params) throw new Error('OnnxSsdMobilenet: load face-api ssdMobilenetv1 first');
    const files = await Promise.all(WEIGHT_FILES.map((f) => readFile(path.join(FACE_API_MODEL_DIR, f))));
    const key = buildKey([GRAPH_VERSION, ...files]);
    const file = await cachedOnnxModel(cacheDir ?? onnxCacheDir(), 'face-api-ssd-mobilenetv1', key, () =>
      buildSsdMobilenetGraph(weightsOf(params)),
    );
    const session = await runtime.ort.InferenceSession.create(file, runtime.sessionOptions);
    return new OnnxSsdMobilenet(
      runtime,
      session,
      tf,
      faceapi,
      readWeightTensor(params.output_layer.extra_dim).data,
      file,
    );
  }

  /**
   * The network's raw outputs for a batch of face-api batch tensors ([n, 512, 512, 3], 0..255):
   * box encodings [n, 5118, 4] and class logits [n, 5118, 3].
   */
  async forward(batch: Float32Array, n: number): Promise<{ encodings: Float32Array; logits: Float32Array }> {
    const { Tensor } = this.runtime.ort;
    const input = new Tensor('float32', batch, [n, SSD_INPUT_SIZE, SSD_INPUT_SIZE, 3]);
    const out = await this.session.run({ [SSD_INPUT]: input });
    return {
      encodings: out[SSD_BOX_ENCODINGS]!.data as Float32Array,
      logits: out[SSD_CLASS_LOGITS]!.data as Float32Array,
    };
  }

  /** Decoded boxes (relative to the 512 input) and scores over `minConfidence`, after suppression. */
  async detectBoxes(batch: Float32Array, options: { minConfidence: number; maxResults: number }): Promise<SsdBox[]> {
    const { encodings, logits } = await this.forward(batch, 1);
    return decodeSsd(encodings, logits, this.anchors, options);
  }

  /** face-api's `locateFaces` on one image (an int32 or float32 [h, w, 3] tensor). */
  async locateFaces(
    input: tfjs.Tensor3D,
    options: { minConfidence: number; maxResults: number },
  ): Promise<FaceDetection[]> {
    const { faceapi } = this;
    const netInput = await faceapi.toNetInput(input as never);
    const batchTensor = this.tf.tidy(() => netInput.toBatchTensor(SSD_INPUT_SIZE, false) as unknown as tfjs.Tensor4D);
    let batch: Float32Array;
    try {
      batch = (await batchTensor.data()) as Float32Array;
    } finally {
      batchTensor.dispose();
    }
    const found = await this.detectBoxes(batch, options);
    const reshaped = netInput.getReshapedInputDimensions(0);
    const padX = SSD_INPUT_SIZE / reshaped.width;
    const padY = SSD_INPUT_SIZE / reshaped.height;
    const dims = { height: netInput.getInputHeight(0), width: netInput.getInputWidth(0) };
    return found.map(({ box, score }) => {
      const top = Math.max(0, box[0]) * padY;
      const bottom = Math.min(1, box[2]) * padY;
      const left = Math.max(0, box[1]) * padX;
      const right = Math.min(1, box[3]) * padX;
      return new faceapi.FaceDetection(score, new faceapi.Rect(left, top, right - left, bottom - top), dims);
    });
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
