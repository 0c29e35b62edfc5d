import type { EmbeddingNet } from './embedding-net.js';
import { l2Normalize } from './embedding-net.js';
import type { Tensor, Tensor2D, Tensor4D, Tf, Variable } from './tf-types.js';

/**
 * A convolution whose filter gradient every backend can compute. The wasm backend has no
 * Conv2DBackpropFilter kernel, so there the convolution runs as im2col: the k x k shifted copies
 * of the padded input side by side, times the filter as a matrix (slice, concat and matMul all have
 * gradients on wasm). Elsewhere it is tf.conv2d. Stride 1, 'same' padding, odd square kernels.
 */
export function trainableConv2d(tf: Tf, x: Tensor4D, filter: Tensor4D, useIm2col = !hasConvFilterGradient(tf)): Tensor4D {
  if (!useIm2col) return tf.conv2d(x, filter, 1, 'same');
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filter.shape;
    if (kh % 2 === 0 || kw % 2 === 0) throw new RangeError('trainableConv2d: odd kernel sizes only');
    const [n, h, w, c] = x.shape;
    if (c !== ci) throw new RangeError(`trainableConv2d: input has ${c} channels, the filter ${ci}`);
    const ph = (kh - 1) / 2;
    const pw = (kw - 1) / 2;
    const padded = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]]);
    const shifted: Tensor4D[] = [];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) shifted.push(tf.slice(padded, [0, i, j, 0], [n, h, w, ci]));
    const patches = tf.reshape(tf.concat(shifted, 3), [n * h * w, kh * kw * ci]);
    return tf.reshape(tf.matMul(patches, tf.reshape(filter, [kh * kw * ci, co])), [n, h, w, co]) as Tensor4D;
  });
}

/** Whether the running backend has the filter gradient of conv2d (tensorflow and cpu do, wasm does not). */
export function hasConvFilterGradient(tf: Tf): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

export interface SmallCnnConfig {
  height: number;
  width: number;
  /** Output channels of the 3x3 conv layers, each followed by ReLU and 2x2 max pooling. */
  channels: number[];
  embeddingSize: number;
  /** How the last feature map becomes a vector: flattened (default) or averaged over positions. */
  head?: 'flatten' | 'average';
  /** Dropout rate on the flattened features during training (default 0). */
  dropout?: number;
  seed?: number;
}

/**
 * A small CNN for grey face images [n, h, w, 1]: conv3x3-ReLU-maxpool blocks, a dense layer and L2
 * normalisation. Plain variables (no tf.layers), so that the convolution can take the im2col path.
 */
export class SmallCnn implements EmbeddingNet {
  readonly variables: Variable[];
  private readonly convs: { filter: Variable; bias: Variable }[];
  private readonly dense: { kernel: Variable; bias: Variable };

  constructor(
    private readonly tf: Tf,
    readonly config: SmallCnnConfig,
  ) {
    let seed = config.seed ?? 1;
    let inChannels = 1;
    let h = config.height;
    let w = config.width;
    this.convs = config.channels.map((out) => {
      const fanIn = 9 * inChannels;
      const filter = tf.variable(tf.randomNormal([3, 3, inChannels, out], 0, Math.sqrt(2 / fanIn), 'float32', seed++));
      const bias = tf.variable(tf.zeros([out]));
      inChannels = out;
      h = Math.ceil(h / 2);
      w = Math.ceil(w / 2);
      return { filter, bias };
    });
    const flat = config.head === 'average' ? inChannels : h * w * inChannels;
    this.dense = {
      kernel: tf.variable(tf.randomNormal([flat, config.embeddingSize], 0, Math.sqrt(1 / flat), 'float32', seed++)),
      bias: tf.variable(tf.zeros([config.embeddingSize])),
    };
    this.variables = [...this.convs.flatMap((c) => [c.filter, c.bias]), this.dense.kernel, this.dense.bias];
  }

  embed(x: Tensor, training: boolean): Tensor2D {
    const { tf } = this;
    return tf.tidy(() => {
      let y = x as Tensor4D;
      for (const { filter, bias } of this.convs) {
        y = tf.relu(tf.add(trainableConv2d(tf, y, filter as Tensor as Tensor4D), bias)) as Tensor4D;
        y = tf.maxPool(y, 2, 2, 'same');
      }
      let flat = (this.config.head === 'average' ? tf.mean(y, [1, 2]) : tf.reshape(y, [y.shape[0], -1])) as Tensor2D;
      const rate = this.config.dropout ?? 0;
      if (training && rate > 0) flat = tf.dropout(flat, rate) as Tensor2D;
      return l2Normalize(tf, tf.add(tf.matMul(flat, this.dense.kernel as Tensor as Tensor2D), this.dense.bias) as Tensor2D);
    });
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}
