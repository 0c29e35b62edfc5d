import type { Tensor, Tensor2D, Variable } from './tf-types.js';

/** What the triplet trainer trains: any differentiable map from a batch of inputs to embeddings. */
export interface EmbeddingNet {
  /** The trainable variables, always in the same order: checkpoints and optimizer state follow it. */
  readonly variables: Variable[];
  /** Embeddings [n, d] of a batch; `training` is true inside a training step. */
  embed(x: Tensor, training: boolean): Tensor2D;
}
