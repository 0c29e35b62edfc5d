import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EF,
  DEFAULT_EF_CONSTRUCTION,
  EF_BY_SHARD_SIZE,
  FaceIndex,
  FaceIndexError,
  SHARD_MIN_FACES,
  efConstructionFor,
  efForShardSize,
  shardsFor,
} from '../src/index/face-index.js';
import { clusteredFaces, noisy, prng } from './support/synthetic-embeddings.js';

const DIM = 32;

function clustered(seed: number, persons: number, perPerson: number) {
  const rand = prng(seed);
  const sigma = 0.4 / Math.sqrt(DIM);
  const { faces, centres } = clusteredFaces(rand, { dim: DIM, persons, perPerson, sigma });
  const queries = (count: number) =>
    Array.from({ length: count }, () => noisy(rand, centres[Math.floor(rand() * persons)], sigma));
  return { faces, queries };
}

/** float32 bytes of a vector, to look for in an index file. */
const bytesOf = (v: ArrayLike<number>) => Buffer.from(Float32Array.from(v).buffer);

describe('FaceIndex with shards', () => {
  it('searches every shard and merges their top-k in distance order', () => {
    const { faces, queries } = clustered(11, 100, 4);
    const index = new FaceIndex({ dim: DIM, shards: 3, initialCapacity: 30 });
    index.add(faces);
    expect(index.shardCount).toBe(3);
    expect(index.size).toBe(400);
    const qs = queries(150);
    const approx = index.search(qs, 10);
    const exact = index.exactSearch(qs, 10);
    for (let i = 0; i < qs.length; i++) {
      expect(approx[i]).toHaveLength(10);
      expect(approx[i][0].faceId).toBe(exact[i][0].faceId);
      const distances = approx[i].map((m) => m.distance);
      expect(distances).toEqual([...distances].sort((a, b) => a - b));
      expect(new Set(approx[i].map((m) => m.faceId)).size).toBe(10);
    }
    // k beyond one shard's faces still returns every face once
    expect(index.search([qs[0]], 1000)[0]).toHaveLength(400);
    expect(index.searchPersons([qs[0]], 5)[0].map((m) => m.personId)).toHaveLength(5);
  });

  it('removes, replaces and re-adds faces in whichever shard holds them, erasing their bytes', () => {
    const { faces, queries } = clustered(12, 40, 3);
    const index = new FaceIndex({ dim: DIM, shards: 2 });
    index.add(faces);
    expect(index.shardCount).toBe(2);
    const gone = faces.filter((f) => f.personId === 'p7');
    expect(index.removePerson('p7')).toBe(3);
    const moved = faces.find((f) => f.faceId === 'p8-f1')!;
    const replacement = { ...moved, embedding: gone[0].embedding };
    index.add([replacement]);
    expect(index.size).toBe(117);
    expect(index.embedding('p8-f1')).toEqual(Float32Array.from(gone[0].embedding));
    const [hits] = index.search([gone[1].embedding], 117);
    expect(hits.map((m) => m.personId)).not.toContain('p7');
    expect(hits[0].faceId).toBe('p8-f1');
    // re-adding reuses deleted slots and the index stays consistent
    index.add(gone.slice(1));
    expect(index.size).toBe(119);
    expect(index.search([gone[2].embedding], 1)[0][0].faceId).toBe(gone[2].faceId);
    const qs = queries(40);
    const exact = index.exactSearch(qs, 1);
    expect(index.search(qs, 1).map((m) => m[0].faceId)).toEqual(exact.map((m) => m[0].faceId));
    // a removed face's vector is in no shard's bytes
    index.removeFace(gone[2].faceId);
    expect(index.serialize().index.includes(bytesOf(gone[2].embedding))).toBe(false);
  });

  it('serialize -> restore keeps the shards (version 2) and refuses sizes that do not add up', () => {
    const { faces, queries } = clustered(13, 60, 4);
    const index = new FaceIndex({ dim: DIM, shards: 2, ef: 41 });
    index.add(faces);
    index.removePerson('p3');
    const snapshot = index.serialize();
    expect(snapshot.maps.version).toBe(2);
    const maps = JSON.parse(JSON.stringify(snapshot.maps));
    const restored = FaceIndex.restore({ index: snapshot.index, maps });
    expect(restored.shardCount).toBe(2);
    expect(restored.ef).toBe(41);
    expect(restored.size).toBe(236);
    expect(restored.persons()).toEqual(index.persons());
    const qs = queries(50);
    expect(restored.search(qs, 5)).toEqual(index.search(qs, 5));
    restored.add([{ faceId: 'new', personId: 'N', embedding: qs[0] }]);
    expect(restored.search([qs[0]], 1)[0][0].faceId).toBe('new');

    const short = { index: snapshot.index.subarray(0, snapshot.index.length - 1), maps };
    expect(() => FaceIndex.restore(short)).toThrow(FaceIndexError);
    expect(() => FaceIndex.restore(short)).toThrow(/shard sizes do not add up/);
    const badShard = {
      ...maps,
      faces: maps.faces.map((f: unknown[], i: number) => (i === 0 ? [...f.slice(0, 3), 5] : f)),
    };
    expect(() => FaceIndex.restore({ index: snapshot.index, maps: badShard })).toThrow(/no shard 5/);
  });

  it('combines separately built parts into one sharded index and refuses overlapping faces', () => {
    const { faces, queries } = clustered(14, 50, 4);
    const a = new FaceIndex({ dim: DIM });
    a.add(faces.slice(0, 100));
    const b = new FaceIndex({ dim: DIM, firstLabel: 100 });
    b.add(faces.slice(100));
    const combined = FaceIndex.combine([a.serialize(), b.serialize()]);
    expect(combined.shardCount).toBe(2);
    expect(combined.size).toBe(200);
    const qs = queries(40);
    const exact = combined.exactSearch(qs, 1);
    expect(combined.search(qs, 1).map((m) => m[0].faceId)).toEqual(exact.map((m) => m[0].faceId));
    // new faces get labels past both parts'
    combined.add([{ faceId: 'x', personId: 'X', embedding: qs[0] }]);
    expect(combined.size).toBe(201);

    const c = new FaceIndex({ dim: DIM, firstLabel: 100 });
    c.add(faces.slice(0, 10)); // faceIds already in a
    expect(() => FaceIndex.combine([a.serialize(), c.serialize()])).toThrow(/face p0-f0 \(label 100\) appears twice/);
  });
});

describe('parameters that follow the size', () => {
  it('ef follows the largest shard until set, and a snapshot keeps which', () => {
    expect(efForShardSize(0)).toBe(DEFAULT_EF);
    expect(efForShardSize(EF_BY_SHARD_SIZE[0][0])).toBe(DEFAULT_EF);
    expect(efForShardSize(EF_BY_SHARD_SIZE[0][0] + 1)).toBe(EF_BY_SHARD_SIZE[1][1]);
    expect(EF_BY_SHARD_SIZE[1][1]).toBeGreaterThan(DEFAULT_EF);

    const { faces } = clustered(15, 10, 2);
    const auto = new FaceIndex({ dim: DIM });
    auto.add(faces);
    expect(auto.ef).toBe(DEFAULT_EF);
    expect(FaceIndex.restore(auto.serialize()).ef).toBe(DEFAULT_EF);
    expect(JSON.parse(JSON.stringify(auto.serialize().maps)).autoEf).toBe(true);
    auto.ef = 33;
    const fixed = FaceIndex.restore(auto.serialize());
    expect(fixed.ef).toBe(33);
    fixed.add([{ ...faces[0], faceId: 'again' }]);
    expect(fixed.ef).toBe(33); // set by hand: adds do not move it
    fixed.useDefaultEf();
    expect(fixed.ef).toBe(DEFAULT_EF);
  });

  it('a build uses one shard per core from SHARD_MIN_FACES faces up', () => {
    expect(shardsFor(0, 2)).toBe(1);
    expect(shardsFor(SHARD_MIN_FACES - 1, 8)).toBe(1);
    expect(shardsFor(SHARD_MIN_FACES, 2)).toBe(2);
    expect(shardsFor(1_000_000, 2)).toBe(2);
    expect(shardsFor(1_000_000, 1)).toBe(1);
    // never shards smaller than half of SHARD_MIN_FACES
    expect(shardsFor(SHARD_MIN_FACES, 64)).toBe(2);
    // large builds trade efConstruction for build time
    expect(efConstructionFor(200_000)).toBe(DEFAULT_EF_CONSTRUCTION);
    expect(efConstructionFor(1_000_000)).toBeLessThan(DEFAULT_EF_CONSTRUCTION);
  });
});
