import type * as tfjs from '@tensorflow/tfjs';
import { registerL2NormalizeLayer } from './l2-normalize.js';
import { loadLayersModel } from './model-files.js';
import type { TfBackend } from './tf-backend.js';

/** Recorded in the adapter's model.json (userDefinedMetadata.facepipe). */
export const ADAPTER_FORMAT = 'facepipe.adapter/v1';

export interface AdapterMetadata extends Record<string, unknown> {
  format: typeof ADAPTER_FORMAT;
  inputSize: number;
  outputSize: number;
  /** The model whose embeddings it takes, e.g. FACE_MODEL_CARD.id. */
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

/** The adapter saved in `dir` (`facepipe train triplet`), its metadata checked and its id set. */
export async function loadAdapterFiles(
  tf: TfBackend['tf'],
  dir: string,
): Promise<{ model: tfjs.LayersModel; metadata: AdapterMetadata }> {
  registerL2NormalizeLayer(tf);
  const { model, metadata, sha256 } = await loadLayersModel(tf, dir);
  const meta = metadata.facepipe as AdapterMetadata | undefined;
  if (meta?.format !== ADAPTER_FORMAT)
    throw new Error(`${dir}: not a facepipe adapter (model.json has no ${ADAPTER_FORMAT} metadata)`);
  return { model, metadata: { ...meta, id: adapterId(sha256) } };
}

/**
 * An embedding adapter at inference: a small network mapping the embedder's vectors to new,
 * L2-normalised ones (trained by src/training with the triplet loss); the engine's faces are
 * embedded as before and then adapted.
 */
export class AdapterModel {
  constructor(
    protected readonly tf: TfBackend['tf'],
    readonly model: tfjs.LayersModel,
    readonly metadata: AdapterMetadata,
  ) {}

  static async load(tf: TfBackend['tf'], dir: string): Promise<AdapterModel> {
    const { model, metadata } = await loadAdapterFiles(tf, dir);
    return new AdapterModel(tf, model, metadata);
  }

  /** Embeddings [n, outputSize] of a batch [n, inputSize]; `training` is true inside a training step. */
  embed(x: tfjs.Tensor, training = false): tfjs.Tensor2D {
    return this.model.apply(x, { training }) as tfjs.Tensor2D;
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
