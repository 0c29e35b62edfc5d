import type { OnnxGraphBuilder } from './onnx-graph-builder.js';
import type { NamedWeight } from './onnx-types.js';

/**
 * TensorFlow's layouts in ONNX's: the converters keep tfjs's weights as stored and write ONNX's
 * NCHW graphs, so every filter is transposed here and every per-channel constant reshaped.
 */

/** tfjs conv filters [h, w, in, out] as ONNX's [out, in, h, w]. */
export function hwioToOihw(values: Float32Array, [h, w, inputs, outputs]: readonly number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let o = 0; o < outputs; o++)
    for (let i = 0; i < inputs; i++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          out[((o * inputs + i) * h + y) * w + x] = values[((y * w + x) * inputs + i) * outputs + o];
  return out;
}

/** tfjs depthwise filters [h, w, channels, multiplier] as ONNX's grouped [channels * multiplier, 1, h, w]. */
export function depthwiseToOnnx(values: Float32Array, [h, w, channels, multiplier]: readonly number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let c = 0; c < channels; c++)
    for (let m = 0; m < multiplier; m++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          out[((c * multiplier + m) * h + y) * w + x] = values[((y * w + x) * channels + c) * multiplier + m];
  return out;
}

/** TensorFlow's SAME padding of one axis: [before, after], the odd pixel after; and the output size. */
export function samePadding(size: number, kernel: number, stride: number): { pads: [number, number]; out: number } {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return { pads: [before, total - before], out };
}

/** VALID: no padding; the output size. */
export function validSize(size: number, kernel: number, stride: number): number {
  return Math.floor((size - kernel) / stride) + 1;
}

export type TfPadding = 'same' | 'valid';

/** A square-input 2-D convolution's ONNX attributes and output size for TensorFlow's padding. */
export function convAttributes(
  size: readonly [number, number],
  kernel: readonly [number, number],
  stride: number,
  padding: TfPadding,
): { pads: number[]; out: [number, number] } {
  if (padding === 'valid') {
    return { pads: [0, 0, 0, 0], out: [validSize(size[0], kernel[0], stride), validSize(size[1], kernel[1], stride)] };
  }
  const y = samePadding(size[0], kernel[0], stride);
  const x = samePadding(size[1], kernel[1], stride);
  return { pads: [y.pads[0], x.pads[0], y.pads[1], x.pads[1]], out: [y.out, x.out] };
}

/** A float weight's values (refuses int32 weights where floats are needed). */
export function floats(weight: NamedWeight, name: string): Float32Array {
  if (!(weight.values instanceof Float32Array)) throw new Error(`${name}: expected float32 values`);
  return weight.values;
}

/** A per-channel vector [C] as a constant [C, 1, 1] that broadcasts over NCHW. */
export function channelConstant(graph: OnnxGraphBuilder, prefix: string, values: Float32Array): string {
  return graph.constant(prefix, values, [values.length, 1, 1]);
}

/** A scalar float constant. */
export function scalar(graph: OnnxGraphBuilder, prefix: string, value: number): string {
  return graph.constant(prefix, Float32Array.of(value), []);
}

/** An int64 constant (shapes, pads, axes). */
export function int64s(graph: OnnxGraphBuilder, prefix: string, values: readonly number[]): string {
  return graph.constant(prefix, BigInt64Array.from(values.map(BigInt)), [values.length]);
}

/**
 * The input's pixels 0..255 NHWC normalised as face-api does (minus the mean RGB, over 255), then
 * NCHW for the convolutions.
 */
export function faceApiNormalize(graph: OnnxGraphBuilder, input: string): string {
  const mean = graph.constant('mean_rgb', Float32Array.of(122.782, 117.001, 104.298), [3]);
  const normalized = graph.op('Div', [graph.op('Sub', [input, mean]), scalar(graph, 'pixel_range', 255)]);
  return graph.op('Transpose', [normalized], { perm: { ints: [0, 3, 1, 2] } });
}
