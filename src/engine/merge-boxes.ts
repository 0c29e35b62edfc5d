/**
 * One box per face from the boxes of several detector passes over one image (the whole frame and
 * overlapping tiles): a face seen by two passes comes back as two boxes, shifted or cut by a tile
 * border, and each would be identified, stored and alerted on as a sighting of its own.
 */
import type { Box } from './types.js';

export interface ScoredBox {
  score: number;
  box: Box;
}

export interface MergeOptions {
  /** Two boxes overlapping by at least this IoU are one face. */
  minIou: number;
  /** A box whose area lies at least this much inside another box is a piece of that face. */
  minInside: number;
}

/**
 * The bench counts a box as a duplicate when it overlaps a face already found with IoU >= 0.3
 * (bench/night/night-metrics.ts). Two boxes of one face off by a quarter of it in opposite
 * directions each overlap it by 0.63, but each other only by 0.37, 54% of either inside the
 * other: the former rule (IoU over 0.4, or over 60% inside) kept both. Two faces side by side
 * overlap far less than this.
 */
export const DEFAULT_MERGE: MergeOptions = { minIou: 0.3, minInside: 0.5 };

/** Intersection over union of two boxes (0 when apart). */
export function boxIou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  return inter === 0 ? 0 : inter / (area(a) + area(b) - inter);
}

/** The share of the smaller box's area that lies inside the other (0 when apart). */
export function insideShare(a: Box, b: Box): number {
  const inter = intersection(a, b);
  return inter === 0 ? 0 : inter / Math.min(area(a), area(b));
}

/**
 * Non-maximum suppression: boxes in descending score; a box overlapping a kept one by `minIou` or
 * more, or lying `minInside` or more inside it (or it inside the box), is dropped. Returns the kept
 * boxes, highest score first; the input is not changed.
 */
export function mergeBoxes<T extends ScoredBox>(found: readonly T[], options: MergeOptions = DEFAULT_MERGE): T[] {
  const kept: T[] = [];
  for (const d of [...found].sort((a, b) => b.score - a.score)) {
    const duplicate = kept.some(
      ({ box }) => boxIou(d.box, box) >= options.minIou || insideShare(d.box, box) >= options.minInside,
    );
    if (!duplicate) kept.push(d);
  }
  return kept;
}

function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

function area(b: Box): number {
  return Math.max(0, b.width) * Math.max(0, b.height);
}
