import type { EmbeddingNet } from './embedding-net.js';
import { l2Normalize } from './embedding-net.js';
import { loadLayersModel, saveLayersModel } from './model-files.js';
import type { LayersModel, Tensor, Tensor2D, Tf, Variable } from './tf-types.js';

/** Recorded in the adapter's model.json (userDefinedMetadata.facepipe). */
export const ADAPTER_FORMAT = 'facepipe.adapter/v1';

export interface AdapterConfig {
  /** Size of the frozen embedder's vectors (1152 for facepipe-fused-v1). */
  inputSize: number;
  /** Units of the hidden ReLU layer; 0 for a single linear layer. */
  hiddenSize: number;
  outputSize: number;
  /**
   * Residual: output = L2(x + dense(relu(dense(x)))), the correction's last layer starting at zero,
   * so training starts from the embedder's own (normalised) geometry and moves only where the loss
   * asks. outputSize must then equal inputSize.
   */
  residual?: boolean;
  /** Seed of the weight initialisers. */
  seed?: number;
}

export interface AdapterMetadata extends Record<string, unknown> {
  format: typeof ADAPTER_FORMAT;
  inputSize: number;
  outputSize: number;
  /** The embedder whose vectors it takes, e.g. FACE_MODEL.id. */
  baseModel?: string;
  /** How it was trained: margin, mining, epochs, ... */
  training?: Record<string, unknown>;
  createdAt?: string;
  /**
   * Distance threshold for 1:1 verification of adapted embeddings, chosen by cross-validation on the
   * held-out people when it was trained.
   */
  verificationThreshold?: number;
  /** The 1:N rule's threshold at FPIR 1% on the held-out people (open-set protocol), when there were enough. */
  identificationThreshold?: number;
  /** Set on load: adapterId() of its files. */
  id?: string;
}

/** "adapter-" + the first 16 hex digits of the SHA-256 of the adapter's files (readModelFiles). */
export function adapterId(sha256: string): string {
  return `adapter-${sha256.slice(0, 16)}`;
}

const L2_CLASS = 'FacepipeL2Normalize';
type LayerClass = new (args: { name?: string }) => import('@tensorflow/tfjs').layers.Layer;
const registeredL2 = new WeakMap<object, LayerClass>();

/**
 * The L2-normalisation layer, registered with tfjs' serialization once per tfjs instance so that
 * a saved adapter loads back with it. Needed by anyone loading an adapter: loadAdapter does it.
 */
export function registerL2NormalizeLayer(tf: Tf): LayerClass {
  const known = registeredL2.get(tf);
  if (known) return known;
  class L2Normalize extends tf.layers.Layer {
    static readonly className = L2_CLASS;
    override computeOutputShape(shape: import('@tensorflow/tfjs').layers.Layer['batchInputShape']) {
      return shape as never;
    }
    override call(inputs: Tensor | Tensor[]): Tensor {
      return l2Normalize(tf, (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor2D);
    }
  }
  tf.serialization.registerClass(L2Normalize);
  registeredL2.set(tf, L2Normalize);
  return L2Normalize;
}

/** dense(hidden, relu) -> dense(output) -> L2 normalisation, on top of frozen embeddings (or its residual form). */
export function createAdapterModel(tf: Tf, config: AdapterConfig): LayersModel {
  const L2Normalize = registerL2NormalizeLayer(tf);
  const seed = config.seed ?? 1;
  if (config.residual) {
    if (config.outputSize !== config.inputSize) throw new RangeError(`a residual adapter keeps the input size (${config.inputSize}), not ${config.outputSize}`);
    if (config.hiddenSize < 1) throw new RangeError('a residual adapter needs a hidden layer');
    const input = tf.input({ shape: [config.inputSize] });
    const hidden = tf.layers.dense({ units: config.hiddenSize, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) }).apply(input);
    const correction = tf.layers.dense({ units: config.inputSize, kernelInitializer: 'zeros' }).apply(hidden);
    const sum = tf.layers.add().apply([input, correction as never]);
    const output = new L2Normalize({ name: 'l2_normalize' }).apply(sum);
    return tf.model({ inputs: input, outputs: output as never });
  }
  const model = tf.sequential();
  if (config.hiddenSize > 0) {
    model.add(tf.layers.dense({ inputShape: [config.inputSize], units: config.hiddenSize, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) }));
  }
  model.add(
    tf.layers.dense({
      ...(config.hiddenSize > 0 ? {} : { inputShape: [config.inputSize] }),
      units: config.outputSize,
      kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 1 }),
    }),
  );
  model.add(new L2Normalize({ name: 'l2_normalize' }));
  return model;
}

/**
 * An embedding adapter: a small network mapping the frozen embedder's vectors to new, L2-normalised
 * ones, trained with the triplet loss; the engine's faces are embedded as before and then adapted.
 */
export class EmbeddingAdapter implements EmbeddingNet {
  constructor(
    private readonly tf: Tf,
    readonly model: LayersModel,
    readonly metadata: AdapterMetadata,
  ) {}

  static create(tf: Tf, config: AdapterConfig, metadata: Partial<AdapterMetadata> = {}): EmbeddingAdapter {
    const model = createAdapterModel(tf, config);
    return new EmbeddingAdapter(tf, model, { ...metadata, format: ADAPTER_FORMAT, inputSize: config.inputSize, outputSize: config.outputSize });
  }

  static async load(tf: Tf, dir: string): Promise<EmbeddingAdapter> {
    registerL2NormalizeLayer(tf);
    const { model, metadata, sha256 } = await loadLayersModel(tf, dir);
    const meta = metadata.facepipe as AdapterMetadata | undefined;
    if (meta?.format !== ADAPTER_FORMAT) throw new Error(`${dir}: not a facepipe adapter (model.json has no ${ADAPTER_FORMAT} metadata)`);
    return new EmbeddingAdapter(tf, model, { ...meta, id: adapterId(sha256) });
  }

  async save(dir: string, extra: Partial<AdapterMetadata> = {}): Promise<void> {
    const { id: _id, ...saved } = { ...this.metadata, ...extra }; // the id is the saved files' hash, set on load
    const metadata = { ...saved, createdAt: new Date().toISOString() };
    await saveLayersModel(this.tf, this.model, dir, { facepipe: metadata });
  }

  get variables(): Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as Variable);
  }

  embed(x: Tensor, training: boolean): Tensor2D {
    return this.model.apply(x, { training }) as Tensor2D;
  }

  /** Adapted vectors of the given embeddings, in batches. */
  adapt(vectors: readonly ArrayLike<number>[], batchSize = 256): Float32Array[] {
    const { tf } = this;
    const out: Float32Array[] = [];
    const d = this.metadata.inputSize;
    for (let start = 0; start < vectors.length; start += batchSize) {
      const chunk = vectors.slice(start, start + batchSize);
      const flat = new Float32Array(chunk.length * d);
      chunk.forEach((v, i) => {
        if (v.length !== d) throw new Error(`adapter expects ${d}-D embeddings, got ${v.length}`);
        for (let j = 0; j < d; j++) flat[i * d + j] = v[j];
      });
      const values = tf.tidy(() => this.embed(tf.tensor2d(flat, [chunk.length, d]), false).dataSync());
      const size = this.metadata.outputSize;
      for (let i = 0; i < chunk.length; i++) out.push(Float32Array.from(values.subarray(i * size, (i + 1) * size)));
    }
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}
