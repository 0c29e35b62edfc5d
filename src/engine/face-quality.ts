import { DLIB_CHIP, type ChipSpec } from './face-alignment.js';
import type { Box, Point } from './types.js';

/** The chip blur is measured on, whatever the embedder takes: blurOf()'s scale was set on dlib's chip. */
export const QUALITY_CHIP: ChipSpec = DLIB_CHIP;

/** How usable a face is for recognition; reported per face in results (DESIGN.md, Result JSON). */
export interface FaceQuality {
  /** Shorter side of the face box, px. */
  size: number;
  /** 0 sharp .. 1 very blurred: from the variance of the Laplacian over the aligned chip. */
  blur: number;
  /** 0 frontal .. 1 profile: how far the nose tip sits from the eyes' midpoint, in eye distances. */
  pose: number;
}

/**
 * Quality of one face from its box, its 68 landmarks and its aligned RGB chip (size x size x 3).
 * Only the chip's central half is measured: the face, not the padding around it.
 */
export function faceQuality(box: Box, landmarks: readonly Point[], chip: Uint8Array, size: number): FaceQuality {
  return {
    size: Math.round(Math.min(box.width, box.height)),
    blur: round3(blurOf(chip, size)),
    pose: round3(poseOf(landmarks)),
  };
}

/**
 * Variance of the 4-neighbour Laplacian of the grey chip, mapped to 0..1 on a log scale: a crisp
 * face (variance ~1000) gives 0, a face upscaled from a few dozen pixels (~30) about 0.5, flat 1.
 */
function blurOf(chip: Uint8Array, size: number): number {
  const grey = (x: number, y: number) => {
    const i = (y * size + x) * 3;
    return 0.299 * chip[i] + 0.587 * chip[i + 1] + 0.114 * chip[i + 2];
  };
  const from = Math.floor(size / 4);
  const to = size - from;
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = from; y < to; y++) {
    for (let x = from; x < to; x++) {
      const lap = grey(x - 1, y) + grey(x + 1, y) + grey(x, y - 1) + grey(x, y + 1) - 4 * grey(x, y);
      sum += lap;
      sumSq += lap * lap;
      n++;
    }
  }
  const variance = n > 0 ? sumSq / n - (sum / n) ** 2 : 0;
  return clamp01(1 - Math.log10(1 + variance) / 3);
}

/** 68-point scheme: eyes 36-41 and 42-47, nose tip 30. Half an eye distance off-centre counts as profile. */
function poseOf(landmarks: readonly Point[]): number {
  if (landmarks.length < 48) return 0;
  const left = mean(landmarks.slice(36, 42));
  const right = mean(landmarks.slice(42, 48));
  const eyeDistance = Math.hypot(right[0] - left[0], right[1] - left[1]);
  if (eyeDistance === 0) return 1;
  // Offset of the nose tip from the eyes' midpoint, along the eye line.
  const ux = (right[0] - left[0]) / eyeDistance;
  const uy = (right[1] - left[1]) / eyeDistance;
  const nose = landmarks[30];
  const offset = (nose[0] - (left[0] + right[0]) / 2) * ux + (nose[1] - (left[1] + right[1]) / 2) * uy;
  return clamp01(Math.abs(offset) / (0.5 * eyeDistance));
}

/** The five points of a result (eye centres, nose tip, mouth corners) from the 68. */
export function fivePoints(landmarks: readonly Point[]): Point[] {
  if (landmarks.length < 68) return landmarks.slice(0, 5);
  const r = (p: Point): Point => [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10];
  return [
    r(mean(landmarks.slice(36, 42))),
    r(mean(landmarks.slice(42, 48))),
    r(landmarks[30]),
    r(landmarks[48]),
    r(landmarks[54]),
  ];
}

function mean(points: readonly Point[]): Point {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p[0];
    y += p[1];
  }
  return [x / points.length, y / points.length];
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
