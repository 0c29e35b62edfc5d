/**
 * An enrollment photo that looks like junk (issue 22): its embedding may sit where junk lands and
 * the person become a "hub", named for background boxes and strangers. Flagged in the gallery
 * record (GalleryRecord.flags) for an operator to replace the photo; the face is still enrolled.
 */
import type { FaceQuality } from '../engine/face-quality.js';

export const ENROLLMENT_FLAGS = ['low-detector-score', 'extreme-pose', 'blurred', 'several-faces'] as const;
export type EnrollmentFlag = (typeof ENROLLMENT_FLAGS)[number];

/**
 * Limits for a one-photo enrollment, stricter than the identification gates: this photo is the
 * person's only reference. SSD reports faces from 0.3; portraits of LFW score well above 0.8.
 */
export const ENROLLMENT_LIMITS = { minDetectorScore: 0.8, maxPose: 0.6, maxBlur: 0.6 } as const;

export interface EnrolledFace {
  /** The detector's score. */
  score: number;
  quality?: FaceQuality;
  /** Faces the detector found in the photo (the largest is enrolled). */
  facesDetected: number;
}

/** The flags of an enrolled face, in ENROLLMENT_FLAGS order; empty for a clean photo. */
export function enrollmentFlags(face: EnrolledFace, limits = ENROLLMENT_LIMITS): EnrollmentFlag[] {
  const flags: EnrollmentFlag[] = [];
  if (face.score < limits.minDetectorScore) flags.push('low-detector-score');
  if (face.quality !== undefined && face.quality.pose > limits.maxPose) flags.push('extreme-pose');
  if (face.quality !== undefined && face.quality.blur > limits.maxBlur) flags.push('blurred');
  if (face.facesDetected > 1) flags.push('several-faces');
  return flags;
}
