import type { EmbeddingModel } from '../engine/embedding-model.js';
import type { ImageAnalysis } from '../engine/engine-types.js';
import type { ImageInput } from '../engine/types.js';

/** What the workers need of the engine (FaceEngine implements it). */
export interface FaceAnalyzer {
  /** What its embeddings are: names the gallery, index and change log the workers use. */
  readonly model: EmbeddingModel;
  analyze(input: ImageInput, options?: { largestOnly?: boolean }): Promise<ImageAnalysis>;
}

/** The outcome of one enroll job: its return value in BullMQ. */
export interface EnrollJobResult {
  images: number;
  /** Images whose face is now in the gallery. */
  enrolled: number;
  /** Images that failed for good; their codes are counted in `errors`. */
  failed: number;
  /** Faces detected in all images (enrollment keeps one per image). */
  facesDetected: number;
  /** FaceErrorCode -> images. */
  errors: Record<string, number>;
  /** The gallery segment written, when any face was enrolled. */
  segment?: string;
}

/** The outcome of one identify job. */
export interface IdentifyJobResult {
  snapshots: number;
  /** Snapshots whose result holds an error. */
  failed: number;
  faces: number;
  identified: number;
}
