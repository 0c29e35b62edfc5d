import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OnnxGraphBuilder } from './onnx-graph-builder.js';
import {
  channelConstant,
  convAttributes,
  depthwiseToOnnx,
  faceApiNormalize,
  floats,
  hwioToOihw,
  validSize,
} from './onnx-layers.js';
import type { WeightMap } from './onnx-types.js';
import { readTfjsWeights, type TfjsWeightGroup, tfjsWeightsHash, weightOf } from './tfjs-weights.js';

/** Bump when the graph this file writes changes: cached files of older graphs are then not used. */
const GRAPH_VERSION = 'face-landmark68/1';
export const LANDMARK68_INPUT = 'faces';
/** 136 values per face: x0, y0, x1, y1, ... relative to the (padded, square) input, 0..1. */
export const LANDMARK68_OUTPUT = 'landmarks';
/** The side of the square input (face-api's faceLandmark68Net). */
export const LANDMARK68_SIZE = 112;

const MANIFEST = 'face_landmark_68_model-weights_manifest.json';

/** What keys the built graph: a hash of face-api's landmark manifest, its weights and GRAPH_VERSION. */
export async function landmark68Key(faceApiModelDir: string): Promise<string> {
  const text = await readFile(path.join(faceApiModelDir, MANIFEST), 'utf8');
  const sha256 = await tfjsWeightsHash(faceApiModelDir, text, JSON.parse(text) as TfjsWeightGroup[]);
  return createHash('sha256').update(GRAPH_VERSION).update(sha256).digest('hex');
}

/** face-api's 68-point landmark weights, 8-bit quantized as shipped, decoded as tfjs does. */
export async function readLandmark68Weights(faceApiModelDir: string): Promise<WeightMap> {
  const text = await readFile(path.join(faceApiModelDir, MANIFEST), 'utf8');
  return readTfjsWeights(faceApiModelDir, JSON.parse(text) as TfjsWeightGroup[]);
}

/**
 * face-api's faceLandmark68Net op for op (FaceFeatureExtractor's four dense blocks of separable
 * convolutions, a 7x7 average pool, the fully connected layer): the input is a batch of 112x112 RGB
 * faces, pixels 0..255 NHWC (padded to square and resized as face-api does: see face-crop.ts), the
 * output the 68 points relative to that input. Batch size is free.
 */
export function buildLandmark68Graph(weights: WeightMap): Uint8Array {
  const graph = new OnnxGraphBuilder('face-landmark68');
  const weight = (name: string) => weightOf(weights, name, "face-api's landmark net");
  let size = LANDMARK68_SIZE;

  /** tf.conv2d(x, filters, stride, 'same') + bias (dense0's first layer). */
  const conv = (x: string, prefix: string, stride: number) => {
    const filters = weight(`${prefix}/filters`);
    const [kh, kw, inputs, outputs] = filters.shape;
    const { pads, out } = convAttributes([size, size], [kh, kw], stride, 'same');
    const w = graph.constant(`${prefix}/filters`, hwioToOihw(floats(filters, prefix), filters.shape), [
      outputs,
      inputs,
      kh,
      kw,
    ]);
    const y = graph.op('Conv', [x, w], {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [stride, stride] },
      pads: { ints: pads },
    });
    size = out[0];
    return graph.op('Add', [y, channelConstant(graph, `${prefix}/bias`, floats(weight(`${prefix}/bias`), prefix))]);
  };

  /** tf.separableConv2d(x, depthwise, pointwise, stride, 'same') + bias. */
  const separable = (x: string, prefix: string, stride: number) => {
    const depthwise = weight(`${prefix}/depthwise_filter`);
    const pointwise = weight(`${prefix}/pointwise_filter`);
    const [kh, kw, channels, multiplier] = depthwise.shape;
    const { pads, out } = convAttributes([size, size], [kh, kw], stride, 'same');
    const dw = graph.constant(`${prefix}/depthwise`, depthwiseToOnnx(floats(depthwise, prefix), depthwise.shape), [
      channels * multiplier,
      1,
      kh,
      kw,
    ]);
    let y = graph.op('Conv', [x, dw], {
      group: { int: channels },
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [stride, stride] },
      pads: { ints: pads },
    });
    const [, , pIn, pOut] = pointwise.shape;
    const pw = graph.constant(`${prefix}/pointwise`, hwioToOihw(floats(pointwise, prefix), pointwise.shape), [
      pOut,
      pIn,
      1,
      1,
    ]);
    y = graph.op('Conv', [y, pw], { kernel_shape: { ints: [1, 1] } });
    size = out[0];
    return graph.op('Add', [y, channelConstant(graph, `${prefix}/bias`, floats(weight(`${prefix}/bias`), prefix))]);
  };

  const relu = (x: string) => graph.op('Relu', [x]);
  const add = (a: string, b: string) => graph.op('Add', [a, b]);

  /** face-api's denseBlock4, the additions in its order. */
  const denseBlock4 = (x: string, prefix: string, isFirstLayer: boolean) => {
    const out1 = relu(isFirstLayer ? conv(x, `${prefix}/conv0`, 2) : separable(x, `${prefix}/conv0`, 2));
    const out2 = separable(out1, `${prefix}/conv1`, 1);
    const in3 = relu(add(out1, out2));
    const out3 = separable(in3, `${prefix}/conv2`, 1);
    const in4 = relu(add(out1, add(out2, out3)));
    const out4 = separable(in4, `${prefix}/conv3`, 1);
    return relu(add(out1, add(out2, add(out3, out4))));
  };

  const input = graph.input(LANDMARK68_INPUT, ['batch', size, size, 3]);
  let out = faceApiNormalize(graph, input);
  out = denseBlock4(out, 'dense0', true);
  out = denseBlock4(out, 'dense1', false);
  out = denseBlock4(out, 'dense2', false);
  out = denseBlock4(out, 'dense3', false);
  out = graph.op('AveragePool', [out], { kernel_shape: { ints: [7, 7] }, strides: { ints: [2, 2] } });
  size = validSize(size, 7, 2);
  // face-api flattens NHWC; with one pixel left NCHW's order is the same.
  if (size !== 1) throw new Error(`face-api's landmark net: ${size}x${size} after pooling, expected 1x1`);
  const fc = weight('fc/weights');
  const flat = graph.op('Flatten', [out]);
  const landmarks = graph.op('Add', [
    graph.op('MatMul', [flat, graph.constant('fc/weights', floats(fc, 'fc'), fc.shape)]),
    graph.constant('fc/bias', floats(weight('fc/bias'), 'fc'), [fc.shape[1]]),
  ]);
  graph.output(graph.alias(landmarks, LANDMARK68_OUTPUT), ['batch', fc.shape[1]]);
  return graph.toBytes();
}
