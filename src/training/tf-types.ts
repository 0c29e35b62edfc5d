import type { TfBackend } from '../engine/tf-backend.js';

/** The tfjs namespace selectBackend() loaded (tfjs-node(-gpu), or tfjs with wasm/cpu). */
export type Tf = TfBackend['tf'];
export type Tensor = import('@tensorflow/tfjs').Tensor;
export type Tensor1D = import('@tensorflow/tfjs').Tensor1D;
export type Tensor2D = import('@tensorflow/tfjs').Tensor2D;
export type Tensor4D = import('@tensorflow/tfjs').Tensor4D;
export type Scalar = import('@tensorflow/tfjs').Scalar;
export type Variable = import('@tensorflow/tfjs').Variable;
export type LayersModel = import('@tensorflow/tfjs').LayersModel;
