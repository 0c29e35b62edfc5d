/**
 * The synthetic gallery of bench:api: `faces` unit vectors of `dim` (4 faces per person, noisy
 * copies of a random centre per person), and its FaceIndex built in a worker thread. A 100,000-face
 * index of 1,152-D takes tens of minutes to build on this machine, so with `cacheDir` the built
 * index is kept there (the snapshot's bytes and maps) and restored by the next run with the same
 * faces, seed and dimension; the vectors themselves are regenerated from the seed (seconds).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIndexInWorker } from '../src/index/build-index-in-worker.js';
import { FaceIndex, type FaceIndexMaps, type FaceRecord } from '../src/index/face-index.js';
import { prng } from '../test/support/synthetic-embeddings.js';

export interface SyntheticGallery {
  faces: FaceRecord[];
  centres: Float32Array[];
  /** Draws a query vector near a random enrolled person (the same noise as its faces). */
  query: () => Float32Array;
  sigma: number;
}

export function syntheticGallery(n: number, dim: number, seed: number): SyntheticGallery {
  const rand = prng(seed);
  const gaussian = () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const unitVector = (centre?: Float32Array, sigma = 0): Float32Array => {
    const v = new Float32Array(dim);
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      v[i] = centre ? centre[i] + sigma * gaussian() : gaussian();
      norm += v[i] * v[i];
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) v[i] /= norm;
    return v;
  };
  // Same-person distances (~0.5) well under different-person ones (~1.41).
  const sigma = 0.5 / Math.sqrt(2 * dim);
  const faces: FaceRecord[] = [];
  const centres: Float32Array[] = [];
  for (let p = 0; faces.length < n; p++) {
    const centre = unitVector();
    centres.push(centre);
    for (let f = 0; f < 4 && faces.length < n; f++)
      faces.push({ faceId: `p${p}-f${f}`, personId: `p${p}`, embedding: unitVector(centre, sigma) });
  }
  const query = () => unitVector(centres[Math.floor(rand() * centres.length)], sigma);
  return { faces, centres, query, sigma };
}

/** The gallery's index: restored from `cacheDir` when built there before, else built (and stored there). */
export async function galleryIndex(
  gallery: SyntheticGallery,
  { dim, seed, cacheDir }: { dim: number; seed: number; cacheDir?: string },
): Promise<{ index: FaceIndex; cached: boolean }> {
  const name = `api-bench-${gallery.faces.length}-${dim}-${seed}`;
  const bin = cacheDir ? join(cacheDir, `${name}.hnsw`) : undefined;
  const json = cacheDir ? join(cacheDir, `${name}.json`) : undefined;
  if (bin && json && existsSync(bin) && existsSync(json)) {
    const maps = JSON.parse(readFileSync(json, 'utf8')) as FaceIndexMaps;
    return { index: FaceIndex.restore({ index: readFileSync(bin), maps }), cached: true };
  }
  const index = await buildIndexInWorker(gallery.faces, { dim, initialCapacity: gallery.faces.length });
  if (cacheDir && bin && json) {
    mkdirSync(cacheDir, { recursive: true });
    const snapshot = index.serialize();
    // Maps last and by rename: a run killed while writing leaves no cache that looks complete.
    writeFileSync(bin, snapshot.index);
    writeFileSync(`${json}.tmp`, JSON.stringify(snapshot.maps));
    renameSync(`${json}.tmp`, json);
  }
  return { index, cached: false };
}
