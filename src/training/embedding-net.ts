import type { Tensor, Tensor2D, Tf, Variable } from './tf-types.js';

/** What the triplet trainer trains: any differentiable map from a batch of inputs to embeddings. */
export interface EmbeddingNet {
  /** The trainable variables, always in the same order: checkpoints and optimizer state follow it. */
  readonly variables: Variable[];
  /** Embeddings [n, d] of a batch; `training` is true inside a training step. */
  embed(x: Tensor, training: boolean): Tensor2D;
}

/** Rows scaled to unit L2 norm (a zero row stays zero). Differentiable. */
export function l2Normalize(tf: Tf, x: Tensor2D): Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12))) as Tensor2D);
}
