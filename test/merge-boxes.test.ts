import { describe, expect, it } from 'vitest';
import { boxIou, insideShare, mergeBoxes } from '../src/engine/merge-boxes.js';

const face = (x: number, y: number, size: number, score: number) => ({
  score,
  box: { x, y, width: size, height: size },
});

describe('mergeBoxes (one face, one box across frame and tile passes)', () => {
  it('merges two boxes of one face, each off by a quarter of it in opposite directions', () => {
    const truth = face(100, 100, 100, 0).box;
    const frame = face(77, 100, 100, 0.9); // 23 px left
    const tile = face(123, 100, 100, 0.6); // 23 px right
    // Both overlap the true face with IoU >= 0.3: the bench counts the second as a duplicate box.
    expect(boxIou(frame.box, truth)).toBeGreaterThan(0.6);
    expect(boxIou(tile.box, truth)).toBeGreaterThan(0.6);
    // The former rule (IoU over 0.4, or over 60% inside) kept both.
    expect(boxIou(frame.box, tile.box)).toBeCloseTo(0.37, 2);
    expect(insideShare(frame.box, tile.box)).toBeCloseTo(0.54, 5);
    expect(mergeBoxes([tile, frame])).toEqual([frame]);
  });

  it('merges a piece of a face cut by a tile border into the whole box', () => {
    const whole = face(200, 50, 80, 0.7);
    const piece = { score: 0.8, box: { x: 250, y: 55, width: 40, height: 70 } }; // right half, sticking out
    const merged = mergeBoxes([whole, piece]);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toBe(piece); // the higher score wins; the other is gone
  });

  it('keeps two faces side by side, and faces far apart', () => {
    const left = face(100, 100, 60, 0.9);
    const right = face(162, 100, 60, 0.8); // touching but not overlapping
    const corner = face(161, 161, 60, 0.5); // overlaps both by a sliver
    const far = face(600, 400, 40, 0.4);
    expect(mergeBoxes([far, right, corner, left])).toEqual([left, right, corner, far]);
  });

  it('is order-independent and does not change its input', () => {
    const boxes = [face(0, 0, 50, 0.5), face(10, 5, 50, 0.9), face(300, 0, 50, 0.7)];
    const copy = structuredClone(boxes);
    const a = mergeBoxes(boxes);
    const b = mergeBoxes([...boxes].reverse());
    expect(a).toEqual(b);
    expect(a.map((d) => d.score)).toEqual([0.9, 0.7]);
    expect(boxes).toEqual(copy);
  });
});
