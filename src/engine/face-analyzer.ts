import type { EmbeddingModel } from './embedding-model.js';
import type { ImageAnalysis } from './engine-types.js';
import type { ImageInput } from './types.js';

/** What the workers and the index service need of the engine (FaceEngine implements it). */
export interface FaceAnalyzer {
  /** What its embeddings are: names the gallery, index and change log the workers use. */
  readonly model: EmbeddingModel;
  /** The backend the networks run on (FaceEngine.backend), e.g. "onnx (onnxruntime-node 1.31.1) + wasm". */
  readonly backend?: string;
  analyze(input: ImageInput, options?: { largestOnly?: boolean }): Promise<ImageAnalysis>;
}
