import type { Scalar, Tensor2D, Tf } from './tf-types.js';
import type { Triplet } from './triplet-mining.js';

/**
 * The distance inside the loss. FaceNet uses the squared Euclidean distance with alpha = 0.2 on
 * L2-normalised embeddings (the default here); 'euclidean' matches the engine's face distance.
 */
export const TRIPLET_DISTANCES = ['squared', 'euclidean'] as const;
export type TripletDistance = (typeof TRIPLET_DISTANCES)[number];

/**
 * All pairwise distances of a batch of embeddings [n, d] as an [n, n] tensor, differentiable,
 * with an exact zero diagonal (and, for 'euclidean', a finite gradient where two rows coincide).
 */
export function pairwiseDistances(tf: Tf, embeddings: Tensor2D, distance: TripletDistance = 'squared'): Tensor2D {
  return tf.tidy(() => {
    const n = embeddings.shape[0];
    const sq = tf.sum(tf.square(embeddings), 1);
    const gram = tf.matMul(embeddings, embeddings, false, true);
    const d2 = tf.relu(tf.sub(tf.add(tf.reshape(sq, [n, 1]), tf.reshape(sq, [1, n])), tf.mul(gram, 2)));
    const offDiagonal = tf.sub(1, tf.eye(n));
    const d = distance === 'squared' ? d2 : tf.sqrt(tf.maximum(d2, 1e-12));
    return tf.mul(d, offDiagonal) as Tensor2D;
  });
}

/**
 * J = sum over the given triplets of max(D[a,p] - D[a,n] + margin, 0), from the batch's distance
 * matrix D [n, n]. Computed as a masked [n, n, n] tensor, so only the listed triplets, and among
 * them only the active ones (non-zero loss), carry a gradient. A triplet listed twice counts twice.
 */
export function tripletLoss(tf: Tf, distances: Tensor2D, triplets: readonly Triplet[], margin: number): Scalar {
  const n = distances.shape[0];
  const mask = new Float32Array(n * n * n);
  for (const [a, p, m] of triplets) mask[(a * n + p) * n + m] += 1;
  return tf.tidy(() => {
    const dap = tf.reshape(distances, [n, n, 1]);
    const dan = tf.reshape(distances, [n, 1, n]);
    const losses = tf.relu(tf.add(tf.sub(dap, dan), margin));
    return tf.sum(tf.mul(losses, tf.tensor3d(mask, [n, n, n]))) as Scalar;
  });
}

/** The loss straight from anchor, positive and negative embeddings [t, d] (one triplet per row). */
export function tripletLossOfEmbeddings(
  tf: Tf,
  anchors: Tensor2D,
  positives: Tensor2D,
  negatives: Tensor2D,
  margin: number,
  distance: TripletDistance = 'squared',
): Scalar {
  return tf.tidy(() => {
    const dist = (x: Tensor2D, y: Tensor2D) => {
      const d2 = tf.sum(tf.square(tf.sub(x, y)), 1);
      return distance === 'squared' ? d2 : tf.sqrt(tf.maximum(d2, 1e-12));
    };
    return tf.sum(tf.relu(tf.add(tf.sub(dist(anchors, positives), dist(anchors, negatives)), margin))) as Scalar;
  });
}
