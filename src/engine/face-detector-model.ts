import type { StageTimer } from './stage-timer.js';
import type { Box, RgbImage } from './types.js';

/** A face found by a detector, before its landmarks: a box inside the image (> 1 px each way). */
export interface FoundFace {
  box: Box;
  score: number;
}

/** Finds the faces of an image. Runs inside the engine's worker threads (synchronous, heavy work). */
export interface FaceDetectorModel {
  /** `timer`, when given, collects the time of each detector pass (stage-timings.ts). */
  detect(image: RgbImage, timer?: StageTimer): Promise<FoundFace[]>;
}
