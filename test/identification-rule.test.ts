import { describe, expect, it } from 'vitest';
import { FACE_MODEL } from '../src/engine/face-model.js';
import {
  bestPerPerson,
  identificationScore,
  identifyFace,
  MAX_MARGIN,
  type IdentificationRule,
  type PersonMatch,
} from '../src/identification/identification-rule.js';

const m = (personId: string, distance: number, faceId = `${personId}-1`) => ({ personId, faceId, distance });

/** The person named with the rule (no distance cap: 2 is the largest distance of unit vectors). */
const decideIdentity = (matches: PersonMatch[], rule: IdentificationRule) =>
  identifyFace(matches, 10, { ...rule, maxDistance: 2 }).personId;

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

  it('decides on its own runners-up whatever k the caller shows', () => {
    const rule = { threshold: 0.4, marginWeight: 1.5, maxDistance: 0.65 };
    // A stranger about as close to several people: ambiguous, never named. Cut to k = 1 before
    // deciding, it would have no runner-up, get MAX_MARGIN and be named (the bug of issue 20).
    const hits = [m('a', 0.6), m('b', 0.62), m('c', 0.63), m('d', 0.64), m('e', 0.64), m('f', 0.7)];
    const decisions = Array.from({ length: 10 }, (_, i) => identifyFace(hits, i + 1, rule));
    decisions.forEach((d, i) => {
      expect(d.personId).toBeNull();
      expect(d.decision).toEqual(decisions[0].decision);
      expect(d.matches).toHaveLength(Math.min(i + 1, hits.length));
    });
    expect(decisions[0].decision.score).toBeCloseTo(identificationScore(hits, rule)!);
    expect(identificationScore(hits.slice(0, 1), rule)).toBeLessThan(rule.threshold); // what k = 1 used to decide on
  });

  it('never names a face farther than the 1:1 threshold, whatever the margin', () => {
    const rule = { threshold: 0.4, marginWeight: 1.5, maxDistance: 0.65 };
    // One person enrolled: the margin is MAX_MARGIN, score 0.7 - 0.45 = 0.25, under the threshold.
    const alone = identifyFace([m('a', 0.7)], 5, rule);
    expect(alone.decision.score).toBeCloseTo(0.7 - 1.5 * MAX_MARGIN);
    expect(alone.personId).toBeNull();
    // A person far ahead of the runners-up, but beyond the cap.
    expect(identifyFace([m('a', 0.66), m('b', 1.3), m('c', 1.35)], 5, rule).personId).toBeNull();
    // Within the cap, the same margin names them.
    expect(identifyFace([m('a', 0.64), m('b', 1.3), m('c', 1.35)], 5, rule).personId).toBe('a');
    expect(identifyFace([m('a', 0.6)], 5, rule).personId).toBe('a');
    // An empty gallery: no score, nobody.
    expect(identifyFace([], 5, rule)).toEqual({
      personId: null,
      matches: [],
      decision: { score: null, threshold: 0.4, marginWeight: 1.5, maxDistance: 0.65 },
    });
  });
});
