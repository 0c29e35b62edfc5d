import { OnnxGraphBuilder } from './onnx-graph-builder.js';

/**
 * face-api's SSD-MobileNetV1 face detector (src/ssdMobilenetv1 of @vladmandic/face-api) as an ONNX
 * graph: the MobileNetV1 body, the prediction layer's extra convolutions and its six box
 * predictors. The box decoding and the non-maximum suppression stay in JS (ssd-box-decoder.ts).
 *
 * In: `image` [batch, 512, 512, 3], the 0..255 batch tensor face-api's toBatchTensor(512) makes
 * (padded to a square at the bottom/right, resized). Out: `box_encodings` [batch, 5118, 4] and
 * `class_logits` [batch, 5118, 3], in face-api's anchor order.
 */

/** A float32 tensor of the weights and its tfjs shape. */
export interface WeightTensor {
  data: Float32Array;
  shape: readonly number[];
}

export interface PointwiseConvWeights {
  filters: WeightTensor;
  batch_norm_offset: WeightTensor;
}

export interface DepthwiseConvWeights {
  filters: WeightTensor;
  batch_norm_scale: WeightTensor;
  batch_norm_offset: WeightTensor;
  batch_norm_mean: WeightTensor;
  batch_norm_variance: WeightTensor;
}

export interface ConvWeights {
  filters: WeightTensor;
  bias: WeightTensor;
}

/** face-api's NetParams (ssdMobilenetv1/types.ts) with the tensors read out as float32 arrays. */
export interface SsdMobilenetWeights {
  mobilenetv1: {
    conv_0: PointwiseConvWeights;
    /** conv_1 ... conv_13, in order. */
    pairs: Array<{ depthwise_conv: DepthwiseConvWeights; pointwise_conv: PointwiseConvWeights }>;
  };
  prediction_layer: {
    /** conv_0 ... conv_7, in order. */
    convs: PointwiseConvWeights[];
    /** box_predictor_0 ... box_predictor_5, in order. */
    box_predictors: Array<{ box_encoding_predictor: ConvWeights; class_predictor: ConvWeights }>;
  };
  /** The anchors: [1, 5118, 4]. */
  extra_dim: WeightTensor;
}

export const SSD_INPUT_SIZE = 512;
export const SSD_INPUT = 'image';
export const SSD_BOX_ENCODINGS = 'box_encodings';
export const SSD_CLASS_LOGITS = 'class_logits';

/** face-api's batch-norm epsilon (mobileNetV1.ts). */
const EPSILON = 0.0010000000474974513;

/** tfjs conv filters [kh, kw, in, out] as ONNX's [out, in, kh, kw]. */
function convFilters({ data, shape }: WeightTensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          out[((o * cin + i) * kh + y) * kw + x] = data[((y * kw + x) * cin + i) * cout + o];
  return { data: out, dims: [cout, cin, kh, kw] };
}

/** tfjs depthwise filters [kh, kw, in, 1] as ONNX's grouped [in, 1, kh, kw]. */
function depthwiseFilters({ data, shape }: WeightTensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, cin, multiplier] = shape as [number, number, number, number];
  if (multiplier !== 1) throw new Error(`SSD-MobileNet: depthwise multiplier ${multiplier}, expected 1`);
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let c = 0; c < cin; c++) out[(c * kh + y) * kw + x] = data[(y * kw + x) * cin + c];
  return { data: out, dims: [cin, 1, kh, kw] };
}

/** Strides of MobileNetV1's depthwise layers (face-api's getStridesForLayerIdx). */
const strideOf = (layer: number) => ([2, 4, 6, 12].includes(layer) ? 2 : 1);

export function buildSsdMobilenetGraph(weights: SsdMobilenetWeights): Uint8Array {
  const g = new OnnxGraphBuilder('face-api-ssd-mobilenetv1');
  const zero = g.constant('zero', Float32Array.of(0), []);
  const six = g.constant('six', Float32Array.of(6), []);
  const relu6 = (x: string) => g.op('Clip', [x, zero, six]);
  const vector = (prefix: string, t: WeightTensor) => g.constant(prefix, t.data, [t.data.length]);

  /** 'same' padding as TensorFlow pads: the odd pixel at the end (SAME_UPPER). */
  const conv = (x: string, filters: WeightTensor, bias: WeightTensor, stride: number, prefix: string) => {
    const w = convFilters(filters);
    return g.op('Conv', [x, g.constant(`${prefix}_w`, w.data, w.dims), vector(`${prefix}_b`, bias)], {
      kernel_shape: { ints: w.dims.slice(2) },
      strides: { ints: [stride, stride] },
      auto_pad: { string: 'SAME_UPPER' },
    });
  };
  const pointwise = (x: string, p: PointwiseConvWeights, stride: number, prefix: string) =>
    relu6(conv(x, p.filters, p.batch_norm_offset, stride, prefix));
  const depthwise = (x: string, p: DepthwiseConvWeights, stride: number, prefix: string) => {
    const w = depthwiseFilters(p.filters);
    const out = g.op('Conv', [x, g.constant(`${prefix}_w`, w.data, w.dims)], {
      kernel_shape: { ints: w.dims.slice(2) },
      strides: { ints: [stride, stride] },
      group: { int: w.dims[0]! },
      auto_pad: { string: 'SAME_UPPER' },
    });
    const bn = g.op(
      'BatchNormalization',
      [
        out,
        vector(`${prefix}_scale`, p.batch_norm_scale),
        vector(`${prefix}_offset`, p.batch_norm_offset),
        vector(`${prefix}_mean`, p.batch_norm_mean),
        vector(`${prefix}_variance`, p.batch_norm_variance),
      ],
      { epsilon: { float: EPSILON } },
    );
    return relu6(bn);
  };

  const image = g.input(SSD_INPUT, ['batch', SSD_INPUT_SIZE, SSD_INPUT_SIZE, 3]);
  // NHWC -> NCHW, then face-api's normalisation: x / 127.5 - 1.
  const nchw = g.op('Transpose', [image], { perm: { ints: [0, 3, 1, 2] } });
  const scaled = g.op('Div', [nchw, g.constant('half_range', Float32Array.of(127.5), [])]);
  let x = g.op('Sub', [scaled, g.constant('one', Float32Array.of(1), [])]);

  const body = weights.mobilenetv1;
  x = pointwise(x, body.conv_0, 2, 'conv_0');
  let conv11 = '';
  body.pairs.forEach((pair, i) => {
    const layer = i + 1;
    x = depthwise(x, pair.depthwise_conv, strideOf(layer), `conv_${layer}_dw`);
    x = pointwise(x, pair.pointwise_conv, 1, `conv_${layer}_pw`);
    if (layer === 11) conv11 = x;
  });
  if (body.pairs.length !== 13 || !conv11) throw new Error('SSD-MobileNet: expected 13 depthwise/pointwise pairs');

  const prediction = weights.prediction_layer;
  const extra: string[] = [];
  let y = x;
  prediction.convs.forEach((p, i) => {
    y = pointwise(y, p, i % 2 === 1 ? 2 : 1, `prediction_${i}`);
    extra.push(y);
  });
  // face-api's predictionLayer: the predictors read conv11, the body's output, then conv1, 3, 5, 7.
  const sources = [conv11, x, extra[1]!, extra[3]!, extra[5]!, extra[7]!];

  const boxParts: string[] = [];
  const classParts: string[] = [];
  // Reshape's 0 keeps the batch size of its input.
  const shapes = {
    3: g.constant('shape_3', BigInt64Array.of(0n, -1n, 3n), [3]),
    4: g.constant('shape_4', BigInt64Array.of(0n, -1n, 4n), [3]),
  };
  prediction.box_predictors.forEach((p, i) => {
    // tfjs reshapes NHWC outputs: back to NHWC before flattening, so the anchor order matches.
    const flatten = (value: string, width: 3 | 4) =>
      g.op('Reshape', [g.op('Transpose', [value], { perm: { ints: [0, 2, 3, 1] } }), shapes[width]]);
    const source = sources[i]!;
    boxParts.push(
      flatten(conv(source, p.box_encoding_predictor.filters, p.box_encoding_predictor.bias, 1, `box_${i}`), 4),
    );
    classParts.push(flatten(conv(source, p.class_predictor.filters, p.class_predictor.bias, 1, `class_${i}`), 3));
  });
  const anchors = weights.extra_dim.data.length / 4;
  g.output(g.alias(g.op('Concat', boxParts, { axis: { int: 1 } }), SSD_BOX_ENCODINGS), ['batch', anchors, 4]);
  g.output(g.alias(g.op('Concat', classParts, { axis: { int: 1 } }), SSD_CLASS_LOGITS), ['batch', anchors, 3]);
  return g.toBytes();
}
