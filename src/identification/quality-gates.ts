/**
 * Quality gates before the 1:N decision (issue 22): a detection is named only when the detector is
 * sure enough that it is a face and the face is usable (size, blur, pose: engine/face-quality.ts).
 * Boxes on background and blurred fragments land anywhere in embedding space, near whichever
 * enrolled person sits where junk lands (a "hub"), and an operator reads each as a sighting. A face
 * failing a gate is still reported, with `personId: null` and the gates it failed.
 */
import type { FaceQuality } from '../engine/face-quality.js';

export const QUALITY_GATES = ['detectorScore', 'size', 'blur', 'pose'] as const;
export type QualityGate = (typeof QUALITY_GATES)[number];

export interface QualityGates {
  /** The detector's score (0..1) below which a box is not named. */
  minDetectorScore: number;
  /** The face box's shorter side (px) below which it is not named. */
  minSize: number;
  /** Blur (0 sharp .. 1 flat) above which it is not named. */
  maxBlur: number;
  /** Pose (0 frontal .. 1 profile) above which it is not named. */
  maxPose: number;
}

/** Gates that pass every face: the decision as it was before gates. */
export const OPEN_GATES: QualityGates = { minDetectorScore: 0, minSize: 0, maxBlur: 1, maxPose: 1 };

/**
 * The shipped gates: open. On two bench nights no box on no face was named without them and every
 * gate cost faces identified (docs/experiments/2026-12-06-gates-and-hubs-two-nights.md).
 */
export const DEFAULT_QUALITY_GATES: QualityGates = { ...OPEN_GATES };

/** What the gates look at in one detection. */
export interface GatedFace {
  /** The detector's score. */
  score: number;
  quality: FaceQuality;
}

/** The gates a detection fails, in QUALITY_GATES order; empty when it may be named. */
export function failedGates(face: GatedFace, gates: QualityGates): QualityGate[] {
  const failed: QualityGate[] = [];
  if (face.score < gates.minDetectorScore) failed.push('detectorScore');
  if (face.quality.size < gates.minSize) failed.push('size');
  if (face.quality.blur > gates.maxBlur) failed.push('blur');
  if (face.quality.pose > gates.maxPose) failed.push('pose');
  return failed;
}
