import { AdapterModel, ADAPTER_FORMAT, loadAdapterFiles, type AdapterMetadata } from '../engine/adapter-model.js';
import { registerL2NormalizeLayer } from '../engine/l2-normalize.js';
import type { EmbeddingNet } from './embedding-net.js';
import { saveLayersModel } from './model-files.js';
import type { LayersModel, Tf, Variable } from './tf-types.js';

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

/** dense(hidden, relu) -> dense(output) -> L2 normalisation, on top of frozen embeddings (or its residual form). */
export function createAdapterModel(tf: Tf, config: AdapterConfig): LayersModel {
  const L2Normalize = registerL2NormalizeLayer(tf);
  const seed = config.seed ?? 1;
  if (config.residual) {
    if (config.outputSize !== config.inputSize)
      throw new RangeError(`a residual adapter keeps the input size (${config.inputSize}), not ${config.outputSize}`);
    if (config.hiddenSize < 1) throw new RangeError('a residual adapter needs a hidden layer');
    const input = tf.input({ shape: [config.inputSize] });
    const hidden = tf.layers
      .dense({ units: config.hiddenSize, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) })
      .apply(input);
    const correction = tf.layers.dense({ units: config.inputSize, kernelInitializer: 'zeros' }).apply(hidden);
    const sum = tf.layers.add().apply([input, correction as never]);
    const output = new L2Normalize({ name: 'l2_normalize' }).apply(sum);
    return tf.model({ inputs: input, outputs: output as never });
  }
  const model = tf.sequential();
  if (config.hiddenSize > 0) {
    model.add(
      tf.layers.dense({
        inputShape: [config.inputSize],
        units: config.hiddenSize,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed }),
      }),
    );
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
 * An adapter as training sees it: created with fresh weights, trained through its variables and
 * saved; inference (load, adapt) is the engine's AdapterModel.
 */
export class EmbeddingAdapter extends AdapterModel implements EmbeddingNet {
  static create(tf: Tf, config: AdapterConfig, metadata: Partial<AdapterMetadata> = {}): EmbeddingAdapter {
    const model = createAdapterModel(tf, config);
    return new EmbeddingAdapter(tf, model, {
      ...metadata,
      format: ADAPTER_FORMAT,
      inputSize: config.inputSize,
      outputSize: config.outputSize,
    });
  }

  static override async load(tf: Tf, dir: string): Promise<EmbeddingAdapter> {
    const { model, metadata } = await loadAdapterFiles(tf, dir);
    return new EmbeddingAdapter(tf, model, metadata);
  }

  async save(dir: string, extra: Partial<AdapterMetadata> = {}): Promise<void> {
    const { id: _id, ...saved } = { ...this.metadata, ...extra }; // the id is the saved files' hash, set on load
    const metadata = { ...saved, createdAt: new Date().toISOString() };
    await saveLayersModel(this.tf, this.model, dir, { facepipe: metadata });
  }

  get variables(): Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as Variable);
  }
}
