import { OnnxGraphBuilder } from './onnx-graph-builder.js';
import { depthwiseToOnnx, hwioToOihw, scalar } from './onnx-layers.js';
import type { ConvWeights, WeightTensor } from './ssd-mobilenet-graph.js';

/**
 * face-api's tiny face detector (src/tinyFaceDetector of @vladmandic/face-api: TinyYolov2Base's
 * runMobilenet with separable convolutions) as an ONNX graph. Box decoding and suppression stay in
 * JS (onnx-tiny-face-detector.ts), as face-api does them.
 *
 * In: `image` [batch, size, size, 3], the 0..255 batch tensor face-api's toBatchTensor(size) makes;
 * any size (face-api's inputSize: 160, 320, 416...). Out: `grid` [batch, cells, cells, 25], the
 * NHWC output of face-api's last convolution (5 anchors x [x, y, w, h, score] per cell).
 */

/** A separable convolution: depthwise [3, 3, in, 1], pointwise [1, 1, in, out], bias [out]. */
export interface SeparableConvWeights {
  depthwise_filter: WeightTensor;
  pointwise_filter: WeightTensor;
  bias: WeightTensor;
}

/** face-api's MobilenetParams of the tiny detector (conv0 a plain convolution, no conv6/conv7). */
export interface TinyFaceDetectorWeights {
  conv0: ConvWeights;
  /** conv1 ... conv5, in order. */
  separable: SeparableConvWeights[];
  conv8: ConvWeights;
}

export const TINY_INPUT_NAME = 'image';
export const TINY_OUTPUT_NAME = 'grid';

/** face-api's tinyFaceDetector/const.ts MEAN_RGB. */
const MEAN_RGB = [117.001, 114.697, 97.404];
/** face-api's leaky(): x for x >= 0, 0.1 x below (its 0.1 as float32). */
const LEAKY_ALPHA = 0.10000000149011612;

export function buildTinyFaceDetectorGraph(weights: TinyFaceDetectorWeights): Uint8Array {
  if (weights.separable.length !== 5) throw new Error('tiny face detector: expected conv1 ... conv5');
  const g = new OnnxGraphBuilder('face-api-tiny-face-detector');
  const vector = (prefix: string, t: WeightTensor) => g.constant(prefix, t.data, [t.data.length]);
  const leaky = (x: string) => g.op('LeakyRelu', [x], { alpha: { float: LEAKY_ALPHA } });
  const conv = (x: string, p: ConvWeights, prefix: string) =>
    g.op(
      'Conv',
      [
        x,
        g.constant(`${prefix}_w`, hwioToOihw(p.filters.data, p.filters.shape), oihw(p.filters)),
        vector(`${prefix}_b`, p.bias),
      ],
      {
        kernel_shape: { ints: p.filters.shape.slice(0, 2) },
        pads: { ints: [0, 0, 0, 0] },
      },
    );
  // depthwiseSeparableConv: pad 1 on each side, depthwise then pointwise 'valid', plus bias, leaky.
  const separable = (x: string, p: SeparableConvWeights, prefix: string) => {
    const [kh, kw, channels] = p.depthwise_filter.shape as [number, number, number, number];
    const depthwise = g.op(
      'Conv',
      [
        x,
        g.constant(`${prefix}_dw`, depthwiseToOnnx(p.depthwise_filter.data, p.depthwise_filter.shape), [
          channels,
          1,
          kh,
          kw,
        ]),
      ],
      { kernel_shape: { ints: [kh, kw] }, pads: { ints: [1, 1, 1, 1] }, group: { int: channels } },
    );
    return leaky(
      g.op('Conv', [
        depthwise,
        g.constant(
          `${prefix}_pw`,
          hwioToOihw(p.pointwise_filter.data, p.pointwise_filter.shape),
          oihw(p.pointwise_filter),
        ),
        vector(`${prefix}_b`, p.bias),
      ]),
    );
  };
  // tf.maxPool(x, [2, 2], stride, 'same'): TensorFlow pads the odd pixel at the end, and a padded
  // cell never wins the max (ONNX's SAME_UPPER does the same).
  const maxPool = (x: string, stride: number) =>
    g.op('MaxPool', [x], {
      kernel_shape: { ints: [2, 2] },
      strides: { ints: [stride, stride] },
      auto_pad: { string: 'SAME_UPPER' },
    });

  const image = g.input(TINY_INPUT_NAME, ['batch', 'height', 'width', 3]);
  // face-api's forwardInput: minus the mean RGB, over 255; then NCHW for the convolutions.
  const centred = g.op('Sub', [image, g.constant('mean_rgb', Float32Array.from(MEAN_RGB), [3])]);
  const scaled = g.op('Div', [centred, scalar(g, 'pixel_range', 255)]);
  let x = g.op('Transpose', [scaled], { perm: { ints: [0, 3, 1, 2] } });

  x = maxPool(leaky(conv(x, weights.conv0, 'conv0')), 2);
  weights.separable.forEach((p, i) => {
    x = maxPool(separable(x, p, `conv${i + 1}`), i === 4 ? 1 : 2);
  });
  const out = conv(x, weights.conv8, 'conv8');
  const cells = weights.conv8.bias.data.length;
  g.output(g.alias(g.op('Transpose', [out], { perm: { ints: [0, 2, 3, 1] } }), TINY_OUTPUT_NAME), [
    'batch',
    'cells_y',
    'cells_x',
    cells,
  ]);
  return g.toBytes();
}

/** ONNX dims [out, in, h, w] of tfjs filters [h, w, in, out]. */
function oihw({ shape }: WeightTensor): number[] {
  const [h, w, inputs, outputs] = shape as [number, number, number, number];
  return [outputs, inputs, h, w];
}
