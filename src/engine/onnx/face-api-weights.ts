import type { WeightTensor } from './ssd-mobilenet-graph.js';

/** A tensor of face-api's bundled tfjs (its own types, the same runtime objects). */
export interface FaceApiTensor {
  shape: readonly number[];
  dataSync(): ArrayLike<number>;
}

/** One of face-api's loaded (dequantised) weight tensors as the graph builders take it. */
export function readWeightTensor(tensor: FaceApiTensor): WeightTensor {
  return { data: Float32Array.from(tensor.dataSync()), shape: [...tensor.shape] };
}
