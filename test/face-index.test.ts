import { describe, expect, it } from 'vitest';
import { FaceIndex, FaceIndexError } from '../src/index/face-index.js';
import { clusteredFaces, noisy, prng } from './support/synthetic-embeddings.js';

/** `persons` clusters of `perPerson` faces each: unit centres plus gaussian noise, renormalised. */
function clustered(seed: number, dim: number, persons: number, perPerson: number) {
  const rand = prng(seed);
  const sigma = 0.4 / Math.sqrt(dim);
  const { faces, centres } = clusteredFaces(rand, { dim, persons, perPerson, sigma });
  const queries = (count: number) =>
    Array.from({ length: count }, () => noisy(rand, centres[Math.floor(rand() * persons)], sigma));
  return { faces, centres, queries };
}

const DIM = 32;

describe('FaceIndex', () => {
  it('agrees with exact search on clustered vectors (recall@1 = 1)', () => {
    const { faces, queries } = clustered(1, DIM, 100, 4);
    const index = new FaceIndex({ dim: DIM });
    index.add(faces);
    expect(index.size).toBe(400);
    const qs = queries(200);
    const approx = index.search(qs, 10);
    const exact = index.exactSearch(qs, 10);
    for (let i = 0; i < qs.length; i++) {
      expect(approx[i][0].faceId).toBe(exact[i][0].faceId);
      expect(approx[i]).toHaveLength(10);
      const distances = approx[i].map((m) => m.distance);
      expect(distances).toEqual([...distances].sort((a, b) => a - b));
    }
    // a stored face is its own nearest neighbour at distance ~0
    const [self] = index.search([faces[17].embedding], 1);
    expect(self[0]).toMatchObject({ faceId: faces[17].faceId, personId: faces[17].personId });
    expect(self[0].distance).toBeLessThan(1e-3);
  });

  it('returns Euclidean (not squared) distances', () => {
    const index = new FaceIndex({ dim: 3 });
    index.add([
      { faceId: 'a', personId: 'A', embedding: [0, 0, 0] },
      { faceId: 'b', personId: 'B', embedding: [3, 4, 0] },
      { faceId: 'c', personId: 'C', embedding: [1, 2, 2] },
    ]);
    const [matches] = index.search([[0, 0, 0]], 3);
    expect(matches.map((m) => m.faceId)).toEqual(['a', 'c', 'b']);
    expect(matches[0].distance).toBeCloseTo(0, 6);
    expect(matches[1].distance).toBeCloseTo(3, 5); // sqrt(1 + 4 + 4)
    expect(matches[2].distance).toBeCloseTo(5, 5); // sqrt(9 + 16)
    const [exact] = index.exactSearch([[0, 0, 0]], 3);
    expect(exact.map((m) => m.distance)).toEqual(matches.map((m) => expect.closeTo(m.distance, 5)));
  });

  it('grows capacity past initialCapacity', () => {
    const { faces } = clustered(2, DIM, 50, 3);
    const index = new FaceIndex({ dim: DIM, initialCapacity: 8 });
    expect(index.capacity).toBe(8);
    index.add(faces.slice(0, 5));
    index.add(faces.slice(5));
    expect(index.size).toBe(150);
    expect(index.capacity).toBeGreaterThanOrEqual(150);
    for (const face of faces.slice(140)) {
      expect(index.search([face.embedding], 1)[0][0].faceId).toBe(face.faceId);
    }
  });

  it('re-adding a faceId does not duplicate it', () => {
    const { faces, queries } = clustered(3, DIM, 20, 3);
    const index = new FaceIndex({ dim: DIM });
    index.add(faces);
    index.add(faces); // idempotent re-application of the same records
    expect(index.size).toBe(60);
    const capacityUsed = index.capacity;
    const [self] = index.search([faces[4].embedding], 60);
    expect(self.filter((m) => m.faceId === faces[4].faceId)).toHaveLength(1);

    // a new vector for an existing faceId replaces the old one
    const moved = queries(1)[0];
    index.add([{ faceId: faces[4].faceId, personId: faces[4].personId, embedding: moved }]);
    expect(index.size).toBe(60);
    const [near] = index.search([moved], 60);
    expect(near[0].faceId).toBe(faces[4].faceId);
    expect(near[0].distance).toBeLessThan(1e-3);
    expect(near.filter((m) => m.faceId === faces[4].faceId)).toHaveLength(1);
    expect(index.personFaces(faces[4].personId)).toHaveLength(3);
    // the deleted slot was reused, no growth
    expect(index.capacity).toBe(capacityUsed);

    // moving a face to another person updates both persons
    index.add([{ faceId: faces[0].faceId, personId: 'other', embedding: faces[0].embedding }]);
    expect(index.size).toBe(60);
    expect(index.personFaces('other')).toEqual([faces[0].faceId]);
    expect(index.personFaces(faces[0].personId)).toHaveLength(2);
  });

  it('removePerson removes every face and counts them', () => {
    const { faces } = clustered(4, DIM, 30, 4);
    const index = new FaceIndex({ dim: DIM });
    index.add(faces);
    expect(index.persons()).toHaveLength(30);
    expect(index.removePerson('p7')).toBe(4);
    expect(index.removePerson('p7')).toBe(0);
    expect(index.removePerson('nobody')).toBe(0);
    expect(index.size).toBe(116);
    expect(index.persons()).toHaveLength(29);
    expect(index.personFaces('p7')).toEqual([]);
    const removed = faces.filter((f) => f.personId === 'p7');
    const approx = index.search(
      removed.map((f) => f.embedding),
      200,
    );
    for (const matches of approx) {
      expect(matches.length).toBe(116);
      expect(matches.some((m) => m.personId === 'p7')).toBe(false);
    }
    expect(index.exactSearch([removed[0].embedding], 200)[0].some((m) => m.personId === 'p7')).toBe(false);

    expect(index.removeFace('p8-f0')).toBe(true);
    expect(index.removeFace('p8-f0')).toBe(false);
    expect(index.size).toBe(115);
    expect(index.persons().find((p) => p.personId === 'p8')).toEqual({ personId: 'p8', faces: 3 });
    expect(index.search([faces.find((f) => f.faceId === 'p8-f0')!.embedding], 5)[0].map((m) => m.faceId)).not.toContain(
      'p8-f0',
    );
  });

  it('serialize -> restore gives the same results and keeps ef', () => {
    const { faces, queries } = clustered(5, DIM, 60, 4);
    const index = new FaceIndex({ dim: DIM, ef: 37, initialCapacity: 16 });
    index.add(faces);
    index.removePerson('p3');
    expect(index.ef).toBe(37);
    const snapshot = index.serialize();
    expect(Buffer.isBuffer(snapshot.index)).toBe(true);
    // the maps survive JSON (what gets written to storage)
    const maps = JSON.parse(JSON.stringify(snapshot.maps));
    const restored = FaceIndex.restore({ index: snapshot.index, maps });
    expect(restored.ef).toBe(37);
    expect(restored.size).toBe(index.size);
    expect(restored.persons()).toEqual(index.persons());
    const qs = queries(50);
    expect(restored.search(qs, 5)).toEqual(index.search(qs, 5));
    // the restored index keeps working: adds reuse deleted slots and labels do not collide
    restored.add([{ faceId: 'new', personId: 'N', embedding: qs[0] }]);
    expect(restored.search([qs[0]], 1)[0][0].faceId).toBe('new');
    expect(restored.size).toBe(index.size + 1);
    expect(FaceIndex.restore(snapshot, { ef: 80 }).ef).toBe(80);
  });

  it('throws a clear error on a wrong dimension', () => {
    const index = new FaceIndex({ dim: 4 });
    expect(() => index.add([{ faceId: 'a', personId: 'A', embedding: [1, 2, 3] }])).toThrow(FaceIndexError);
    expect(() => index.add([{ faceId: 'a', personId: 'A', embedding: [1, 2, 3] }])).toThrow(/dimension 3.*expects 4/);
    expect(() => index.search([[1, 2, 3, 4, 5]], 1)).toThrow(/dimension 5/);
    expect(() => index.add([{ faceId: 'a', personId: 'A', embedding: [1, 2, NaN, 4] }])).toThrow(/finite/);
    // a bad record in a batch leaves the index unchanged
    expect(() =>
      index.add([
        { faceId: 'ok', personId: 'A', embedding: [1, 2, 3, 4] },
        { faceId: 'bad', personId: 'A', embedding: [1, 2] },
      ]),
    ).toThrow(FaceIndexError);
    expect(index.size).toBe(0);
    // Float32Array embeddings are accepted
    index.add([{ faceId: 'f32', personId: 'A', embedding: new Float32Array([1, 2, 3, 4]) }]);
    expect(index.size).toBe(1);
  });

  it('k larger than the live count returns what exists', () => {
    const index = new FaceIndex({ dim: 2, initialCapacity: 4 });
    expect(index.search([[0, 0]], 5)).toEqual([[]]);
    index.add([
      { faceId: 'a', personId: 'A', embedding: [0, 1] },
      { faceId: 'b', personId: 'B', embedding: [1, 0] },
      { faceId: 'c', personId: 'C', embedding: [5, 5] },
    ]);
    index.removeFace('c');
    const [matches] = index.search([[0, 0]], 100);
    expect(matches.map((m) => m.faceId).sort()).toEqual(['a', 'b']);
    expect(index.exactSearch([[0, 0]], 100)[0]).toHaveLength(2);
  });

  it('searchPersons finds k persons even when one person owns every nearby face', () => {
    const rand = prng(7);
    const index = new FaceIndex({ dim: 16 });
    const { faces, centres } = clusteredFaces(rand, { dim: 16, persons: 30, perPerson: 1, sigma: 0.05 });
    // p0 gets 200 more faces around its centre: a plain top-20 holds nobody else.
    const many = Array.from({ length: 200 }, (_, i) => ({
      faceId: `p0-extra-${i}`,
      personId: 'p0',
      embedding: noisy(rand, centres[0], 0.05),
    }));
    index.add([...faces, ...many]);
    const query = noisy(rand, centres[0], 0.05);
    expect(new Set(index.search([query], 20)[0].map((m) => m.personId))).toEqual(new Set(['p0']));
    const persons = index.searchPersons([query], 5)[0];
    expect(persons.map((m) => m.personId)[0]).toBe('p0');
    expect(new Set(persons.map((m) => m.personId)).size).toBe(5);
    expect(persons.map((m) => m.distance)).toEqual([...persons.map((m) => m.distance)].sort((a, b) => a - b));
    // The runner-up is the true second-closest person (exact search agrees).
    const exact = index.exactSearch([query], index.size)[0].filter((m) => m.personId !== 'p0');
    expect(persons[1].personId).toBe(exact[0].personId);
  });
});
