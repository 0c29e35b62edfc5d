/**
 * A gallery with a planted hub, on embeddings the tests make: 60 persons spread out (about 1.4 from
 * each other and from the junk), a cloud of junk (background boxes, fragments) about 0.45 around
 * one point, and the hub at that point. The plain 1:N rule names the hub for most junk.
 */
import { FACE_MODEL } from '../../src/engine/face-model.js';

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

export interface PlantedHub {
  persons: Array<{ personId: string; embedding: Float32Array }>;
  hub: { personId: string; embedding: Float32Array };
  /** Junk scored as the cohort. */
  cohort: Float32Array[];
  /** Other junk, seen on a later night. */
  laterJunk: Float32Array[];
  /** A point at about `radius` from `centre` in a random direction. */
  around(centre: Float32Array, radius: number): Float32Array;
}

export function plantedHub(dim = FACE_MODEL.embeddingSize, seed = 22): PlantedHub {
  const next = random(seed);
  const around = (centre: Float32Array, radius: number) => {
    const sigma = radius / Math.sqrt(dim);
    return centre.map((v) => v + sigma * gaussian(next));
  };
  const junkCentre = around(new Float32Array(dim), 1);
  const persons = Array.from({ length: 60 }, (_, i) => ({ personId: `p${i}`, embedding: around(junkCentre, 1.4) }));
  return {
    persons,
    hub: { personId: 'hub', embedding: Float32Array.from(junkCentre) },
    cohort: Array.from({ length: 200 }, () => around(junkCentre, 0.45)),
    laterJunk: Array.from({ length: 40 }, () => around(junkCentre, 0.45)),
    around,
  };
}
