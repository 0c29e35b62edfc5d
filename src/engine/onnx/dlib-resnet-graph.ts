import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadDlibResnetWeights } from '../dlib-resnet-weights.js';
import type { TfBackend } from '../tf-backend.js';
import { OnnxGraphBuilder } from './onnx-graph-builder.js';
import {
  channelConstant,
  convAttributes,
  faceApiNormalize,
  floats,
  hwioToOihw,
  int64s,
  type TfPadding,
  validSize,
} from './onnx-layers.js';
import type { NamedWeight, WeightMap } from './onnx-types.js';
import { weightOf } from './tfjs-weights.js';

/** Bump when the graph this file writes changes: cached files of older graphs are then not used. */
const GRAPH_VERSION = 'dlib-resnet/1';
export const DLIB_RESNET_INPUT = 'chips';
export const DLIB_RESNET_OUTPUT = 'embeddings';
/** The chip side the network takes (dlib's 150x150 chips). */
export const DLIB_RESNET_SIZE = 150;

/** What keys the built graph: a hash of dlib's file, face-api's manifest (names, shapes) and GRAPH_VERSION. */
export async function dlibResnetKey(dlibFile: string, faceApiModelDir: string): Promise<string> {
  const [dat, manifest] = await Promise.all([
    readFile(dlibFile),
    readFile(path.join(faceApiModelDir, 'face_recognition_model-weights_manifest.json')),
  ]);
  return createHash('sha256').update(GRAPH_VERSION).update(dat).update(manifest).digest('hex');
}

/**
 * dlib's float32 ResNet weights under face-api's names and layouts, read by the same function the
 * tfjs backend loads them with (given a tensor factory that keeps plain arrays).
 */
export async function readDlibResnetWeights(dlibFile: string, faceApiModelDir: string): Promise<WeightMap> {
  const plain = { tensor: (values: Float32Array, shape: number[]): NamedWeight => ({ values, shape }) };
  const map = await loadDlibResnetWeights(plain as unknown as TfBackend['tf'], dlibFile, faceApiModelDir);
  return new Map(Object.entries(map as unknown as Record<string, NamedWeight>));
}

/**
 * dlib's ResNet-34 (dlib_face_recognition_resnet_model_v1) as face-api runs it
 * (faceRecognitionNet.forwardInput), op for op: the input is a batch of 150x150 RGB chips, pixels
 * 0..255 NHWC, normalised in the graph; the output the 128-D descriptors. Batch size is free.
 */
export function buildDlibResnetGraph(weights: WeightMap): Uint8Array {
  const graph = new OnnxGraphBuilder('dlib-resnet');
  const weight = (name: string) => weightOf(weights, name, "dlib's ResNet");
  let size = DLIB_RESNET_SIZE;

  /** face-api's convLayer: conv, + bias, x scale + shift (dlib's affine layer), ReLU if asked. */
  const convLayer = (x: string, prefix: string, stride: number, relu: boolean, padding: TfPadding = 'same') => {
    const filters = weight(`${prefix}/conv/filters`);
    const [kh, kw, inputs, outputs] = filters.shape;
    const { pads, out } = convAttributes([size, size], [kh, kw], stride, padding);
    const w = graph.constant(`${prefix}/filters`, hwioToOihw(floats(filters, prefix), filters.shape), [
      outputs,
      inputs,
      kh,
      kw,
    ]);
    let y = graph.op('Conv', [x, w], {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [stride, stride] },
      pads: { ints: pads },
    });
    y = graph.op('Add', [y, channelConstant(graph, `${prefix}/bias`, floats(weight(`${prefix}/conv/bias`), prefix))]);
    y = graph.op('Mul', [
      y,
      channelConstant(graph, `${prefix}/scale`, floats(weight(`${prefix}/scale/weights`), prefix)),
    ]);
    y = graph.op('Add', [
      y,
      channelConstant(graph, `${prefix}/shift`, floats(weight(`${prefix}/scale/biases`), prefix)),
    ]);
    return { value: relu ? graph.op('Relu', [y]) : y, size: out[0], channels: outputs };
  };

  const residual = (x: string, prefix: string) => {
    const conv1 = convLayer(x, `${prefix}/conv1`, 1, true);
    const conv2 = convLayer(conv1.value, `${prefix}/conv2`, 1, false);
    return graph.op('Relu', [graph.op('Add', [conv2.value, x])]);
  };

  /** face-api's residualDown: the shortcut is a 2x2 average pool, zero-padded to the branch's shape. */
  const residualDown = (x: string, prefix: string, channels: number) => {
    const inSize = size;
    const conv1 = convLayer(x, `${prefix}/conv1`, 2, true, 'valid');
    size = conv1.size;
    const conv2 = convLayer(conv1.value, `${prefix}/conv2`, 1, false);
    let out = conv2.value;
    let pooled = graph.op('AveragePool', [x], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } });
    const pooledSize = validSize(inSize, 2, 2);
    if (pooledSize !== size) {
      // face-api appends one row and one column of zeros to the branch.
      if (pooledSize !== size + 1) throw new Error(`dlib ResNet ${prefix}: shortcut ${pooledSize}, branch ${size}`);
      out = graph.op('Pad', [out, int64s(graph, `${prefix}/pad_hw`, [0, 0, 0, 0, 0, 0, 1, 1])]);
      size = pooledSize;
    }
    if (conv2.channels !== channels) {
      // ... and as many zero channels to the shortcut as it has.
      if (conv2.channels !== 2 * channels) throw new Error(`dlib ResNet ${prefix}: ${channels} -> ${conv2.channels}`);
      pooled = graph.op('Pad', [pooled, int64s(graph, `${prefix}/pad_c`, [0, 0, 0, 0, 0, channels, 0, 0])]);
    }
    return { value: graph.op('Relu', [graph.op('Add', [pooled, out])]), channels: conv2.channels };
  };

  const input = graph.input(DLIB_RESNET_INPUT, ['batch', size, size, 3]);
  const down = convLayer(faceApiNormalize(graph, input), 'conv32_down', 2, true, 'valid');
  size = down.size;
  let out = graph.op('MaxPool', [down.value], { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] } });
  size = validSize(size, 3, 2);
  let channels = down.channels;
  for (const stage of [
    ['conv32_1', 'conv32_2', 'conv32_3'],
    ['conv64_down', 'conv64_1', 'conv64_2', 'conv64_3'],
    ['conv128_down', 'conv128_1', 'conv128_2'],
    ['conv256_down', 'conv256_1', 'conv256_2', 'conv256_down_out'],
  ]) {
    for (const block of stage) {
      if (block.includes('down')) ({ value: out, channels } = residualDown(out, block, channels));
      else out = residual(out, block);
    }
  }
  const pooled = graph.op('Flatten', [graph.op('GlobalAveragePool', [out])]);
  const fc = weight('fc');
  const embeddings = graph.op('MatMul', [pooled, graph.constant('fc', floats(fc, 'fc'), fc.shape)]);
  graph.output(graph.alias(embeddings, DLIB_RESNET_OUTPUT), ['batch', fc.shape[1]]);
  return graph.toBytes();
}
