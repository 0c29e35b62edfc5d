import type { ExifTime } from './decode-image.js';
import type { DetectedFace, DetectorOptions } from './face-detector.js';
import type { FaceQuality } from './face-quality.js';
import type { EmbedderOptions, FaceChips } from './embedder.js';
import type { ModelCard } from './model-card.js';
import type { OnnxThreading } from './onnx/onnx-runtime.js';
import type { StageTimings } from './stage-timings.js';
import type { BackendName } from './tf-backend.js';

export type AnalyzerOptions = DetectorOptions & EmbedderOptions;

export interface EngineOptions {
  /** Force a backend (FACEPIPE_BACKEND); by default the fastest installed one. */
  backend?: BackendName;
  /** How onnxruntime sessions use threads (onnx backend); by default one per worker thread. */
  onnxThreading?: OnnxThreading;
  /** Inference worker threads; one wasm instance each. */
  threads: number;
  /** Micro-batcher: at most this many faces per forward pass... */
  maxBatch: number;
  /** ...and a face waits at most this long for others to join it. */
  maxWaitMs: number;
  /** Decompression-bomb limit, width x height. */
  maxPixels: number;
  analyzer: AnalyzerOptions;
  /** Folder of a trained embedding adapter (`facepipe train triplet`) applied to every embedding. */
  adapter?: string;
  /** The model to run; by default the shipped one (FACE_MODEL_CARD). */
  card?: ModelCard;
  /**
   * Modules (file URLs) each worker imports before it builds the card's components: where
   * components that do not ship with the engine register themselves (component-registry.ts).
   */
  plugins?: string[];
}

export interface EngineWorkerData {
  backend?: BackendName;
  onnxThreading?: OnnxThreading;
  maxPixels: number;
  analyzer: AnalyzerOptions;
  adapter?: string;
  card: ModelCard;
  plugins: string[];
}

export interface DetectionResult {
  width: number;
  height: number;
  /** When the camera says it took the picture (EXIF), if it says. */
  exifTime?: ExifTime;
  /** Every face with its quality, measured on its aligned chip. */
  faces: (DetectedFace & { quality: FaceQuality })[];
  /** The aligned chips of each face, for the embedder (opaque to the engine). */
  chips: FaceChips[];
  /** Where the worker's time went: decode, detector passes, landmarks, alignment. */
  timings: StageTimings;
}

/** What the worker's `embed` task returns: one embedding per face, and the batch's stage times. */
export interface EmbedResult {
  embeddings: Float32Array[];
  timings: StageTimings;
}

export interface AnalyzedFace extends DetectedFace {
  quality: FaceQuality;
  embedding: Float32Array;
}

export interface ImageAnalysis {
  width: number;
  height: number;
  /** When the camera says it took the picture (EXIF), if it says. */
  exifTime?: ExifTime;
  /** Faces found; more than faces.length when only some were embedded (largestOnly). */
  facesDetected: number;
  faces: AnalyzedFace[];
  /**
   * Milliseconds per stage for this image (internal to the engine's callers: benchmarks, metrics):
   * the worker's detect stages, and each embedding stage's share of the batches its faces were in.
   * Set by FaceEngine; other analyzers (stubs, remote ones) may leave it out.
   */
  timings?: StageTimings;
}
