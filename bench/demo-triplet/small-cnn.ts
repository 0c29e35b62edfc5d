import { l2Normalize } from '../../src/engine/l2-normalize.js';
import type { EmbeddingNet } from '../../src/training/embedding-net.js';
import type { Tensor, Tensor2D, Tensor4D, Tf, Variable } from '../../src/training/tf-types.js';

/**
 * A convolution whose filter gradient every backend can compute. The wasm backend has no
 * Conv2DBackpropFilter kernel, so there the convolution runs as im2col: the k x k shifted copies
 * of the padded input side by side, times the filter as a matrix (slice, concat and matMul all have
 * gradients on wasm). Elsewhere it is tf.conv2d. Stride 1, 'same' padding, odd square kernels.
 */
export function trainableConv2d(
  tf: Tf,
  x: Tensor4D,
  filter: Tensor4D,
  useIm2col = !hasConvFilterGradient(tf),
): Tensor4D {
  if (!useIm2col) return tf.conv2d(x, filter, 1, 'same');
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filter.shape;
    if (kh % 2 === 0 || kw % 2 === 0) throw new RangeError('trainableConv2d: odd kernel sizes only');
    const [n, h, w, c] = x.shape;
    if (c !== ci) throw new RangeError(`trainableConv2d: input has ${c} channels, the filter ${ci}`);
    const ph = (kh - 1) / 2;
    const pw = (kw - 1) / 2;
    const padded = tf.pad(x, [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ]);
    const shifted: Tensor4D[] = [];
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) shifted.push(tf.slice(padded, [0, i, j, 0], [n, h, w, ci]));
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
  /** Output channels of the conv blocks, each conv followed by ReLU and the block by 2x2 max pooling. */
  channels: number[];
  embeddingSize: number;
  /** Convolutions per block (default 1), all with the block's channel count. */
  convsPerBlock?: number;
  /** Odd square kernel size of the convolutions (default 3). */
  kernelSize?: number;
  /**
   * Normalisation after each convolution, before its ReLU (default 'none': a bias). 'batch': batch
   * normalisation (per channel over the batch and positions while training, running averages at
   * inference; a learnt scale and shift instead of the bias).
   */
  norm?: 'none' | 'batch';
  /** Weight of the old value in the running averages of batch normalisation (default 0.9). */
  normMomentum?: number;
  /** How the last feature map becomes a vector: flattened (default) or averaged over positions. */
  head?: 'flatten' | 'average';
  /**
   * Channels of a 1x1 convolution (linear) between the last block and the head, shared by all
   * positions: the dense layer then sees far fewer features. Default: none.
   */
  bottleneck?: number;
  /** Dropout rate on the flattened features during training (default 0); masks are seeded from `seed`. */
  dropout?: number;
  seed?: number;
}

interface ConvLayer {
  filter: Variable;
  /** The bias, or with batch normalisation its shift (beta). */
  bias: Variable;
  /** Batch normalisation only: the scale (gamma) and the running mean and variance. */
  gamma?: Variable;
  runningMean?: Variable;
  runningVar?: Variable;
}

const BN_EPSILON = 1e-3;

/**
 * A small CNN for grey face images [n, h, w, 1]: conv3x3-(batch norm)-ReLU blocks with max pooling,
 * a dense layer and L2 normalisation. Plain variables (no tf.layers), so that the convolution can
 * take the im2col path. `variables` are the trainable ones; `state` holds the running statistics of
 * batch normalisation (updated by every training-mode embed, used by inference-mode ones).
 */
export class SmallCnn implements EmbeddingNet {
  readonly variables: Variable[];
  readonly state: Variable[];
  private readonly blocks: ConvLayer[][];
  private readonly dense: { kernel: Variable; bias: Variable };
  private readonly bottleneck?: Variable;
  private dropoutSeed: number;

  constructor(
    private readonly tf: Tf,
    readonly config: SmallCnnConfig,
  ) {
    let seed = config.seed ?? 1;
    let inChannels = 1;
    let h = config.height;
    let w = config.width;
    const batchNorm = config.norm === 'batch';
    const perBlock = config.convsPerBlock ?? 1;
    this.blocks = config.channels.map((out) => {
      const layers: ConvLayer[] = [];
      for (let i = 0; i < perBlock; i++) {
        const k = config.kernelSize ?? 3;
        const fanIn = k * k * inChannels;
        const filter = tf.variable(
          tf.randomNormal([k, k, inChannels, out], 0, Math.sqrt(2 / fanIn), 'float32', seed++),
        );
        const bias = tf.variable(tf.zeros([out]));
        layers.push(
          batchNorm
            ? {
                filter,
                bias,
                gamma: tf.variable(tf.ones([out])),
                runningMean: tf.variable(tf.zeros([out]), false),
                runningVar: tf.variable(tf.ones([out]), false),
              }
            : { filter, bias },
        );
        inChannels = out;
      }
      h = Math.ceil(h / 2);
      w = Math.ceil(w / 2);
      return layers;
    });
    if (config.bottleneck) {
      this.bottleneck = tf.variable(
        tf.randomNormal([1, 1, inChannels, config.bottleneck], 0, Math.sqrt(1 / inChannels), 'float32', seed++),
      );
      inChannels = config.bottleneck;
    }
    const flat = config.head === 'average' ? inChannels : h * w * inChannels;
    this.dense = {
      kernel: tf.variable(tf.randomNormal([flat, config.embeddingSize], 0, Math.sqrt(1 / flat), 'float32', seed++)),
      bias: tf.variable(tf.zeros([config.embeddingSize])),
    };
    const convs = this.blocks.flat();
    this.variables = [
      ...convs.flatMap((c) => (c.gamma ? [c.filter, c.gamma, c.bias] : [c.filter, c.bias])),
      ...(this.bottleneck ? [this.bottleneck] : []),
      this.dense.kernel,
      this.dense.bias,
    ];
    this.state = convs.flatMap((c) => (c.runningMean && c.runningVar ? [c.runningMean, c.runningVar] : []));
    // Each training-mode embed draws its dropout masks from the next seed: reproducible runs.
    this.dropoutSeed = 1_000_003 * (config.seed ?? 1);
  }

  /** The filters and the dense kernel: what weight decay applies to (not biases, scales or shifts). */
  get weights(): Variable[] {
    return [
      ...this.blocks.flat().map((c) => c.filter),
      ...(this.bottleneck ? [this.bottleneck] : []),
      this.dense.kernel,
    ];
  }

  embed(x: Tensor, training: boolean): Tensor2D {
    const { tf } = this;
    return tf.tidy(() => {
      let y = x as Tensor4D;
      for (const layers of this.blocks) {
        for (const layer of layers)
          y = tf.relu(
            this.normalise(trainableConv2d(tf, y, layer.filter as Tensor as Tensor4D), layer, training),
          ) as Tensor4D;
        y = tf.maxPool(y, 2, 2, 'same');
      }
      if (this.bottleneck) y = trainableConv2d(tf, y, this.bottleneck as Tensor as Tensor4D);
      let flat = (this.config.head === 'average' ? tf.mean(y, [1, 2]) : tf.reshape(y, [y.shape[0], -1])) as Tensor2D;
      const rate = this.config.dropout ?? 0;
      if (training && rate > 0) flat = tf.dropout(flat, rate, undefined, this.dropoutSeed++) as Tensor2D;
      return l2Normalize(
        tf,
        tf.add(tf.matMul(flat, this.dense.kernel as Tensor as Tensor2D), this.dense.bias) as Tensor2D,
      );
    });
  }

  private normalise(y: Tensor4D, layer: ConvLayer, training: boolean): Tensor4D {
    const { tf } = this;
    const { gamma, runningMean, runningVar } = layer;
    if (!gamma || !runningMean || !runningVar) return tf.add(y, layer.bias);
    let mean: Tensor = runningMean;
    let variance: Tensor = runningVar;
    if (training) {
      const m = tf.moments(y, [0, 1, 2]);
      mean = m.mean;
      variance = m.variance;
      const momentum = this.config.normMomentum ?? 0.9;
      runningMean.assign(tf.add(tf.mul(runningMean, momentum), tf.mul(mean, 1 - momentum)));
      runningVar.assign(tf.add(tf.mul(runningVar, momentum), tf.mul(variance, 1 - momentum)));
    }
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, BN_EPSILON)));
    return tf.add(tf.mul(tf.sub(y, mean), scale), layer.bias) as Tensor4D;
  }

  dispose(): void {
    for (const v of [...this.variables, ...this.state]) v.dispose();
  }
}
