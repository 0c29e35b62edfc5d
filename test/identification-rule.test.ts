import { describe, expect, it } from 'vitest';
import { FACE_MODEL } from '../src/engine/face-model.js';
import {
  bestPerPerson,
  decideIdentity,
  identificationScore,
  MAX_MARGIN,
} from '../src/identification/identification-rule.js';

const m = (personId: string, distance: number, faceId = `${personId}-1`) => ({ personId, faceId, distance });

describe('the 1:N identification rule', () => {
  it('keeps each person once, at their closest face', () => {
    expect(bestPerPerson([m('a', 0.5, 'a1'), m('b', 0.4), m('a', 0.3, 'a2'), m('c', 0.9)], 2)).toEqual([
      m('a', 0.3, 'a2'),
      m('b', 0.4),
    ]);
  });

  it('names the closest person only when they stand out from the runner-up', () => {
    const rule = { threshold: 0.4, marginWeight: 1 };
    // Same best distance, different margins: clear vs ambiguous.
    expect(identificationScore([m('a', 0.5), m('b', 0.8)], rule)).toBeCloseTo(0.2);
    expect(decideIdentity([m('a', 0.5), m('b', 0.8)], rule)).toBe('a');
    expect(decideIdentity([m('a', 0.5), m('b', 0.52)], rule)).toBeNull();
    // The margin is to the mean of the runners-up (at most RUNNERS_UP of them); alone in the gallery, MAX_MARGIN.
    expect(
      identificationScore([m('a', 0.5), m('b', 0.7), m('c', 0.9), m('d', 0.9), m('e', 0.9), m('f', 2)], rule),
    ).toBeCloseTo(0.5 - (0.85 - 0.5));
    expect(identificationScore([m('a', 0.5)], rule)).toBeCloseTo(0.5 - MAX_MARGIN);
    expect(decideIdentity([], rule)).toBeNull();
  });

  it('with marginWeight 0 is the plain distance threshold', () => {
    const rule = { threshold: 0.6, marginWeight: 0 };
    expect(decideIdentity([m('a', 0.6), m('b', 0.61)], rule)).toBe('a');
    expect(decideIdentity([m('a', 0.61)], rule)).toBeNull();
  });

  it('ships stricter than 1:1 verification', () => {
    expect(FACE_MODEL.identification.marginWeight).toBeGreaterThan(0);
    expect(FACE_MODEL.identification.threshold).toBeLessThan(FACE_MODEL.threshold);
  });
});
