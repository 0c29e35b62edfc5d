/**
 * Hubs (issue 22) on embeddings the test makes: a gallery of persons spread out, a cloud of junk
 * (background boxes, fragments) around one point, and a planted hub at that point. The hub is
 * named for held-out junk with the plain rule, and no longer once its distances are offset by its
 * closeness to the cohort; other persons' own faces are still named.
 */
import { describe, expect, it } from 'vitest';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { entryOffsets, scoreAgainstCohort } from '../src/identification/cohort-normalisation.js';
import { identifyFace, type DecisionRule, type PersonMatch } from '../src/identification/identification-rule.js';
import { plantedHub } from './support/planted-hub.js';

const DIM = 128;

// The gallery of test/support/planted-hub.ts at 128 dimensions: 60 persons spread out, junk around
// one point, the hub at that point.
const { persons, hub, cohort, laterJunk, around } = plantedHub(DIM);
const gallery = [...persons, hub];

/** A brute-force search: every person's distance, ascending. */
function search(probe: Float32Array): PersonMatch[] {
  return gallery
    .map(({ personId, embedding }) => ({
      personId,
      faceId: personId,
      distance: Math.hypot(...embedding.map((v, i) => v - probe[i])),
    }))
    .sort((a, b) => a.distance - b.distance);
}

const RULE: DecisionRule = { ...FACE_MODEL.identification, maxDistance: FACE_MODEL.threshold };
const namedOf = (probes: Float32Array[], rule: DecisionRule) =>
  probes.map((p) => identifyFace(search(p), 5, rule).personId).filter((id) => id !== null);

describe('cohort normalisation of the 1:N score (hubs)', () => {
  const scores = scoreAgainstCohort(gallery, cohort);

  it('lists the planted hub, and only it, as attracting far more than its share', () => {
    expect(scores.hubs.map((h) => h.personId)).toEqual(['hub']);
    expect(scores.hubs[0].hits).toBe(cohort.length);
    expect(scores.share).toBeCloseTo(cohort.length / gallery.length);
  });

  it('the hub attracts junk before, and not after', () => {
    const before = namedOf(laterJunk, RULE);
    expect(before.length).toBeGreaterThan(laterJunk.length / 2);
    expect(new Set(before)).toEqual(new Set(['hub']));

    const offsets = entryOffsets(scores);
    expect(offsets.get('hub')).toBeGreaterThan(0.5);
    expect(namedOf(laterJunk, { ...RULE, entryOffsets: offsets })).toEqual([]);
  });

  it("still names other persons' own faces, and shows the real distances", () => {
    const offsets = entryOffsets(scores);
    const probes = persons.slice(0, 20).map((p) => around(p.embedding, 0.3));
    const before = namedOf(probes, RULE);
    expect(before).toEqual(persons.slice(0, 20).map((p) => p.personId));
    expect(namedOf(probes, { ...RULE, entryOffsets: offsets })).toEqual(before);
    const decided = identifyFace(search(laterJunk[0]), 5, { ...RULE, entryOffsets: offsets });
    expect(decided.matches[0]).toEqual({ ...search(laterJunk[0])[0] });
  });
});
