/**
 * The person directory (src/index/person-directory.ts) against the gallery it mirrors: records and
 * deletions applied in any order give the faces GalleryStore.readAll() reads from a real folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GalleryRecord, Tombstone } from '../src/gallery/gallery-record.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { PersonDirectory } from '../src/index/person-directory.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { prng } from './support/synthetic-embeddings.js';

const MODEL = 'directory-test-model';
let dir: string;
let gallery: GalleryStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-person-directory-'));
  gallery = new GalleryStore(new FolderStorage(dir), MODEL);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute)).toISOString();

function record(faceId: string, personId: string, minute: number, name?: string): GalleryRecord {
  return {
    faceId,
    personId,
    ...(name === undefined ? {} : { name }),
    source: 'file:///src',
    sourceKey: `archive/${personId}/${faceId}.jpg`,
    sourceEtag: 'e1',
    box: { x: 1, y: 2, width: 30, height: 40 },
    landmarks: [],
    score: 0.9,
    model: MODEL,
    embedding: [0.1, 0.2],
    enrolledAt: at(minute),
  };
}

type Event = { segment: GalleryRecord[] } | { tombstone: Tombstone };

/** Enrollments, renames, a merge, face and person deletions, a re-enrollment after a deletion. */
const HISTORY: Event[] = [
  { segment: [record('a1', 'ann', 1, 'Ann'), record('a2', 'ann', 1, 'Ann'), record('b1', 'bob', 1)] },
  { segment: [record('c1', 'cid', 2), record('c2', 'cid', 2)] },
  { segment: [record('b1', 'bob', 3, 'Robert')] }, // rename
  { tombstone: { personId: 'ann', deletedAt: at(4), faceIds: ['a2'] } }, // one face
  { segment: [record('c1', 'bob', 5, 'Robert'), record('c2', 'bob', 5, 'Robert')] }, // merge cid into bob...
  { tombstone: { personId: 'cid', deletedAt: at(5), mergedInto: 'bob' } }, // ...and cid deleted
  { tombstone: { personId: 'cid', deletedAt: at(5), faceIds: ['c1'] } }, // cid's, not bob's: keeps bob's c1
  { tombstone: { personId: 'ann', deletedAt: at(6) } }, // ann deleted...
  { segment: [record('a3', 'ann', 7, 'Ann B')] }, // ...and enrolled again
  { segment: [record('a1', 'ann', 1, 'Ann')] }, // an old segment replayed
];

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rand = prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function apply(directory: PersonDirectory, event: Event): void {
  if ('segment' in event) directory.addRecords(event.segment);
  else directory.applyDelete(event.tombstone);
}

describe('the person directory', () => {
  it('holds the faces the gallery reads, whatever order records and deletions arrive in', async () => {
    for (const event of HISTORY) {
      if ('segment' in event) await gallery.append(event.segment);
      else await gallery.tombstone(event.tombstone);
    }
    const truth = (await gallery.readAll()).map((r) => [r.faceId, r.personId, r.name]);
    expect(truth).toEqual([
      ['a3', 'ann', 'Ann B'],
      ['b1', 'bob', 'Robert'],
      ['c1', 'bob', 'Robert'],
      ['c2', 'bob', 'Robert'],
    ]);
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const directory = new PersonDirectory();
      for (const event of seed === 1 ? HISTORY : shuffled(HISTORY, seed)) apply(directory, event);
      const faces = ['a1', 'a2', 'a3', 'b1', 'c1', 'c2']
        .map((faceId) => directory.faceRecord(faceId))
        .filter((face) => face !== undefined)
        .map((face) => [face.faceId, face.personId, face.name]);
      expect(faces, `order ${seed}`).toEqual(truth);
      expect(directory.list({ limit: 10, offset: 0 }), `order ${seed}`).toEqual({
        total: 2,
        items: [
          { personId: 'ann', name: 'Ann B', faces: 1 },
          { personId: 'bob', name: 'Robert', faces: 3 },
        ],
      });
      expect(directory.faces, `order ${seed}`).toBe(4);
      expect(directory.person('cid'), `order ${seed}`).toBeUndefined();
    }
  });

  it('keeps persons in id order whether they come one by one or thousands at once', () => {
    const directory = new PersonDirectory();
    const ids = shuffled(
      Array.from({ length: 5000 }, (_, i) => `p${i}`),
      9,
    );
    const all = () => directory.list({ limit: 10_000, offset: 0 }).items.map((item) => item.personId);
    // Thousands before a read (the rows are sorted again), then a few between reads (spliced in place).
    directory.addRecords(ids.slice(0, 4990).map((id) => record(`f-${id}`, id, 1)));
    expect(all()).toEqual(ids.slice(0, 4990).sort());
    for (const id of ids.slice(4990)) {
      directory.addRecords([record(`f-${id}`, id, 1, `Name of ${id}`)]);
      expect(all()).toEqual([...ids.slice(0, ids.indexOf(id) + 1)].sort());
    }
    directory.applyDelete({ personId: ids[0], deletedAt: at(2) });
    expect(all()).toEqual(ids.slice(1).sort());
    expect(directory.list({ search: `name of ${ids[4999]}`, limit: 5, offset: 0 }).items).toEqual([
      { personId: ids[4999], name: `Name of ${ids[4999]}`, faces: 1 },
    ]);
  });

  it('searches ids and names in any case, and pages in id order', () => {
    const directory = new PersonDirectory();
    directory.addRecords([
      record('f1', 'emp-001', 1, 'Zoë Martin'),
      record('f2', 'emp-002', 1),
      record('f3', 'visitor-9', 1, 'Martina'),
    ]);
    const ids = (search: string, limit = 10, offset = 0) =>
      directory.list({ search, limit, offset }).items.map((item) => item.personId);
    expect(ids('MARTIN')).toEqual(['emp-001', 'visitor-9']);
    expect(ids('emp')).toEqual(['emp-001', 'emp-002']);
    expect(ids('zoë')).toEqual(['emp-001']);
    expect(ids('', 1, 1)).toEqual(['emp-002']);
    expect(directory.list({ search: 'martin', limit: 1, offset: 1 })).toEqual({
      total: 2,
      items: [{ personId: 'visitor-9', name: 'Martina', faces: 1 }],
    });
  });
});
