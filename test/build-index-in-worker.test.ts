import { describe, expect, it } from 'vitest';
import { buildIndexInWorker } from '../src/index/build-index-in-worker.js';
import { FaceIndex, FaceIndexError } from '../src/index/face-index.js';
import { clusteredFaces, noisy, prng } from './support/synthetic-embeddings.js';

const DIM = 128;

describe('buildIndexInWorker', () => {
  it('builds the same index as the main thread while the event loop keeps ticking', async () => {
    const rand = prng(21);
    const sigma = 0.4 / Math.sqrt(DIM);
    const persons = 500;
    const { faces, centres } = clusteredFaces(rand, { dim: DIM, persons, perPerson: 4, sigma });
    const queries = Array.from({ length: 200 }, () => noisy(rand, centres[Math.floor(rand() * persons)], sigma));
    const options = { dim: DIM, m: 12, efConstruction: 200, ef: 64 };

    let ticks = 0;
    let last = performance.now();
    let longestGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 5);
    let built: FaceIndex;
    try {
      built = await buildIndexInWorker(faces, options);
    } finally {
      clearInterval(timer);
    }

    const reference = new FaceIndex(options);
    const mainStarted = performance.now();
    reference.add(faces);
    const mainElapsed = performance.now() - mainStarted;

    expect(built.size).toBe(2000);
    expect(built.size).toBe(reference.size);
    expect(built.persons()).toEqual(reference.persons());
    expect([built.m, built.efConstruction, built.ef]).toEqual([12, 200, 64]);
    const a = built.search(queries, 1);
    const b = reference.search(queries, 1);
    for (let i = 0; i < queries.length; i++) {
      expect(a[i][0].faceId).toBe(b[i][0].faceId);
      expect(a[i][0].distance).toBeCloseTo(b[i][0].distance, 6);
    }
    // The caller's arrays are copied, not transferred away.
    expect(faces[0].embedding).toHaveLength(DIM);

    // The main thread stayed responsive: it ticked all along and never stalled for anything like
    // the time the build takes on the main thread (~190 ms here; gaps seen: ~10-20 ms).
    expect(ticks).toBeGreaterThan(5);
    expect(longestGap).toBeLessThan(Math.max(100, mainElapsed / 2));
  });

  it('splits a build into shards, one worker thread each, and joins them into one index', async () => {
    const rand = prng(22);
    const sigma = 0.4 / Math.sqrt(DIM);
    const persons = 300;
    const { faces, centres } = clusteredFaces(rand, { dim: DIM, persons, perPerson: 4, sigma });
    const queries = Array.from({ length: 100 }, () => noisy(rand, centres[Math.floor(rand() * persons)], sigma));
    // A faceId given twice, in different parts: the last record counts, as add() would leave it.
    const moved = { faceId: faces[3].faceId, personId: 'moved', embedding: faces[1100].embedding };
    const built = await buildIndexInWorker([...faces, moved], { dim: DIM, ef: 64, shards: 3 });
    expect(built.shardCount).toBe(3);
    expect(built.size).toBe(1200);
    expect(built.ef).toBe(64);
    expect(built.personFaces('moved')).toEqual([faces[3].faceId]);
    const exact = built.exactSearch(queries, 1);
    expect(built.search(queries, 1).map((m) => m[0].faceId)).toEqual(exact.map((m) => m[0].faceId));
    // it keeps working as one index: new faces, removals, a snapshot
    built.add([{ faceId: 'new', personId: 'N', embedding: queries[0] }]);
    expect(built.search([queries[0]], 1)[0][0].faceId).toBe('new');
    expect(built.removePerson('p1')).toBe(4);
    expect(FaceIndex.restore(built.serialize()).size).toBe(1197);

    // a bad record in any part fails the whole build, naming the face
    const bad = [...faces.slice(0, 20), { faceId: 'late', personId: 'x', embedding: new Float32Array(3) }];
    await expect(buildIndexInWorker(bad, { dim: DIM, shards: 2 })).rejects.toThrow(
      'face late: embedding has dimension 3, the index expects 128',
    );
  });

  it('builds an empty index from no faces', async () => {
    const index = await buildIndexInWorker([], { dim: 8 });
    expect(index.size).toBe(0);
    expect(index.search([new Array(8).fill(0)], 3)).toEqual([[]]);
  });

  it('rejects a record with the wrong dimension, naming the face', async () => {
    const faces = [
      { faceId: 'ok', personId: 'a', embedding: new Array(8).fill(0.1) },
      { faceId: 'short', personId: 'b', embedding: new Float32Array(7) },
    ];
    const failure = buildIndexInWorker(faces, { dim: 8 });
    await expect(failure).rejects.toThrow(FaceIndexError);
    await expect(failure).rejects.toThrow('face short: embedding has dimension 7, the index expects 8');
  });

  it('rejects non-finite values and invalid options', async () => {
    await expect(buildIndexInWorker([{ faceId: 'x', personId: 'a', embedding: [0, NaN] }], { dim: 2 })).rejects.toThrow(
      /face x: embedding\[1\] is not a finite number/,
    );
    await expect(buildIndexInWorker([], { dim: 0 })).rejects.toThrow(/dim must be a positive integer/);
    await expect(
      buildIndexInWorker([{ faceId: 'x', personId: 'a', embedding: undefined as unknown as number[] }], { dim: 2 }),
    ).rejects.toThrow(/face x: embedding is missing/);
  });
});
