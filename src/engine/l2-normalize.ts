import type * as tfjs from '@tensorflow/tfjs';
import type { TfBackend } from './tf-backend.js';

type Tf = TfBackend['tf'];

/** Rows scaled to unit L2 norm (a zero row stays zero). Differentiable. */
export function l2Normalize(tf: Tf, x: tfjs.Tensor2D): tfjs.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12))) as tfjs.Tensor2D);
}

const L2_CLASS = 'FacepipeL2Normalize';
export type LayerClass = new (args: { name?: string }) => tfjs.layers.Layer;
const registeredL2 = new WeakMap<object, LayerClass>();

/**
 * The L2-normalisation layer, registered with tfjs' serialization once per tfjs instance so that
 * a saved adapter loads back with it. Needed by anyone loading an adapter: AdapterModel.load does it.
 */
export function registerL2NormalizeLayer(tf: Tf): LayerClass {
  const known = registeredL2.get(tf);
  if (known) return known;
  class L2Normalize extends tf.layers.Layer {
    static readonly className = L2_CLASS;
    override computeOutputShape(shape: tfjs.layers.Layer['batchInputShape']) {
      return shape as never;
    }
    override call(inputs: tfjs.Tensor | tfjs.Tensor[]): tfjs.Tensor {
      return l2Normalize(tf, (Array.isArray(inputs) ? inputs[0] : inputs) as tfjs.Tensor2D);
    }
  }
  tf.serialization.registerClass(L2Normalize);
  registeredL2.set(tf, L2Normalize);
  return L2Normalize;
}
