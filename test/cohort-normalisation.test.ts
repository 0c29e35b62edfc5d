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

const DIM = 128;

/** Park-Miller: the same embeddings on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
}

/** A point at about `radius` from `centre` in a random direction. */
function around(centre: Float32Array, radius: number, next: () => number): Float32Array {
  const sigma = radius / Math.sqrt(DIM);
  return centre.map((v) => v + sigma * gaussian(next));
}

const next = random(22);
const origin = new Float32Array(DIM);
const junkCentre = around(origin, 1, next);
// 60 persons about 1.4 from each other and from the junk (unrelated faces).
const persons = Array.from({ length: 60 }, (_, i) => ({ personId: `p${i}`, embedding: around(junkCentre, 1.4, next) }));
const hub = { personId: 'hub', embedding: Float32Array.from(junkCentre) };
const gallery = [...persons, hub];
// Junk lands about 0.45 from its centre: the cohort scored, and other junk seen on a later night.
const cohort = Array.from({ length: 200 }, () => around(junkCentre, 0.45, next));
const laterJunk = Array.from({ length: 100 }, () => around(junkCentre, 0.45, next));

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
    const probes = persons.slice(0, 20).map((p) => around(p.embedding, 0.3, next));
    const before = namedOf(probes, RULE);
    expect(before).toEqual(persons.slice(0, 20).map((p) => p.personId));
    expect(namedOf(probes, { ...RULE, entryOffsets: offsets })).toEqual(before);
    const decided = identifyFace(search(laterJunk[0]), 5, { ...RULE, entryOffsets: offsets });
    expect(decided.matches[0]).toEqual({ ...search(laterJunk[0])[0] });
  });
});
