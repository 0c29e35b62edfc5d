import type { FoundFace } from './face-detector-model.js';
import type { StageTimer } from './stage-timer.js';
import type { Point, RgbImage } from './types.js';

/** A face's landmarks in image pixels (a FaceShape, which alignment reads). */
export interface FaceLandmarks {
  /** The 68-point scheme (iBUG 300-W): results, pose and the inner-landmark alignment read it. */
  landmarks: Point[];
  /** dlib's five points (eye corners, nose base) in dlib's order: the five-point chips' template. */
  five: Point[];
}

/** The landmarks of found faces. Runs inside the engine's worker threads. */
export interface LandmarkModel {
  /** One set per face, in the order of `faces`; `timer`, when given, collects each stage's time. */
  landmarks(image: RgbImage, faces: readonly FoundFace[], timer?: StageTimer): Promise<FaceLandmarks[]>;
}
