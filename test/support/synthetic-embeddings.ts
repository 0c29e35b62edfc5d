import type { FaceRecord } from '../../src/index/face-index.js';

/** Seeded PRNG and synthetic face-like embeddings, shared by the index tests and bench/index-bench.ts. */

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller). */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export function unit(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** `centre` plus gaussian noise of `sigma` per component, renormalised. */
export function noisy(rand: () => number, centre: number[], sigma: number): number[] {
  return unit(centre.map((x) => x + sigma * gaussian(rand)));
}

/**
 * `persons` clusters (p0, p1, ...) of `perPerson` faces each (`p<i>-f<j>`): a random unit centre per
 * person, each face a noisy copy of it.
 */
export function clusteredFaces(
  rand: () => number,
  { dim, persons, perPerson, sigma }: { dim: number; persons: number; perPerson: number; sigma: number },
): { faces: FaceRecord[]; centres: number[][] } {
  const centres: number[][] = [];
  const faces: FaceRecord[] = [];
  for (let p = 0; p < persons; p++) {
    const centre = unit(Array.from({ length: dim }, () => gaussian(rand)));
    centres.push(centre);
    for (let f = 0; f < perPerson; f++) {
      faces.push({ faceId: `p${p}-f${f}`, personId: `p${p}`, embedding: noisy(rand, centre, sigma) });
    }
  }
  return { faces, centres };
}
