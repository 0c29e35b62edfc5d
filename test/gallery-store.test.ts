import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { faceIdFor } from '../src/gallery/face-id.js';
import type { GalleryRecord } from '../src/gallery/gallery-record.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { openStorage } from '../src/storage/open-storage.js';
import { useStorageImplementations } from './support/storage-implementations.js';

const { runId, implementations } = useStorageImplementations({
  bucketPrefix: 'facepipe-gallery',
  folderPrefix: 'facepipe-gallery-',
});

// A model id with characters that are unsafe in keys.
const MODEL = 'my model/v1:α';

function record(
  personId: string,
  source: string,
  enrolledAt: string,
  extra: Partial<GalleryRecord> = {},
): GalleryRecord {
  const sourceKey = `archive/${personId}/${source}`;
  return {
    faceId: faceIdFor('file:///src', sourceKey, 'etag-1', MODEL),
    personId,
    source: 'file:///src',
    sourceKey,
    sourceEtag: 'etag-1',
    box: { x: 1, y: 2, width: 30, height: 40 },
    landmarks: [
      [1, 2],
      [3, 4],
    ],
    score: 0.9,
    model: MODEL,
    embedding: [0.1, 0.2, 0.3],
    enrolledAt,
    ...extra,
  };
}

const T = (minute: number) => new Date(Date.UTC(2026, 10, 29, 2, minute)).toISOString();
const ids = (records: GalleryRecord[]) => records.map((r) => r.faceId);

describe.each(implementations)('gallery store: $name', ({ fresh }) => {
  const open = (options: { pageSize?: number } = {}) => {
    const storage = fresh();
    return { storage, gallery: new GalleryStore(storage, MODEL, undefined, options) };
  };

  it('round-trips appended records through readAll, one segment per append', async () => {
    const { storage, gallery } = open();
    const a = record('alice', '1.jpg', T(1), {
      name: 'Alice',
      quality: { size: 30, blur: 0.1, pose: 0.2 },
      warnings: ['small'],
    });
    const b = record('bob', '1.jpg', T(1));
    const c = record('bob', '2.jpg', T(2));
    const key1 = await gallery.append([a, b]);
    const key2 = await gallery.append([c]);
    expect(key1).not.toBe(key2);
    expect(key1).toMatch(/^facepipe\/gallery\/my%20model%2Fv1%3A%CE%B1\/segments\/[^/]+\.jsonl$/);
    const all = await gallery.readAll();
    expect(all).toHaveLength(3);
    expect(new Map(all.map((r) => [r.faceId, r]))).toEqual(new Map([a, b, c].map((r) => [r.faceId, r])));
    expect(await gallery.persons()).toEqual(
      new Map([
        ['alice', 1],
        ['bob', 2],
      ]),
    );
    const listed = (await storage.list('facepipe/gallery/')).items.map((item) => item.key);
    expect(listed.sort()).toEqual([key1, key2].sort());
  });

  it('the same segmentId twice gives one copy of its records', async () => {
    const { storage, gallery } = open();
    const records = [record('alice', '1.jpg', T(1)), record('alice', '2.jpg', T(1))];
    const key1 = await gallery.append(records, { segmentId: 'job-42' });
    const key2 = await gallery.append(records, { segmentId: 'job-42' });
    expect(key2).toBe(key1);
    expect(await gallery.readAll()).toHaveLength(2);
    expect((await storage.list('facepipe/')).items).toHaveLength(1);
    const text = Buffer.from(await storage.get(key1)).toString('utf8');
    expect(text.trimEnd().split('\n')).toHaveLength(2);
  });

  it('the last record for a faceId wins', async () => {
    const { gallery } = open();
    const first = record('alice', '1.jpg', T(1), { name: 'Old name' });
    const second = { ...first, name: 'New name', embedding: [9, 9, 9], enrolledAt: T(5) };
    // Written newest first: the winner is chosen by enrollment time, not by write order.
    await gallery.append([second]);
    await gallery.append([first]);
    const all = await gallery.readAll();
    expect(all).toEqual([second]);
    // Same time: the later line wins.
    const third = { ...first, name: 'Third', enrolledAt: T(6) };
    await gallery.append([{ ...third, name: 'not me' }, third]);
    expect((await gallery.readAll()).map((r) => r.name)).toEqual(['Third']);
  });

  it('a tombstone removes a person; re-enrolling afterwards brings them back', async () => {
    const { gallery } = open();
    const a1 = record('alice', '1.jpg', T(1));
    const a2 = record('alice', '2.jpg', T(2));
    const b1 = record('bob', '1.jpg', T(2));
    await gallery.append([a1, a2, b1]);
    await gallery.tombstone({ personId: 'alice', deletedAt: T(3) });
    expect(ids(await gallery.readAll())).toEqual([b1.faceId]);
    expect(await gallery.persons()).toEqual(new Map([['bob', 1]]));

    const again = { ...a1, enrolledAt: T(4) };
    await gallery.append([again]);
    expect(await gallery.readAll()).toEqual(expect.arrayContaining([again, b1]));
    expect(await gallery.persons()).toEqual(
      new Map([
        ['alice', 1],
        ['bob', 1],
      ]),
    );
  });

  it('deletedPersons: the latest whole-person deletion of each person, face removals left out', async () => {
    const { gallery } = open();
    await gallery.tombstone({ personId: 'alice', deletedAt: T(3) });
    await gallery.tombstone({ personId: 'alice', deletedAt: T(5) });
    await gallery.tombstone({ personId: 'alice', deletedAt: T(4) });
    await gallery.tombstone({ personId: 'bob', deletedAt: T(6), faceIds: ['f1'] });
    expect(await gallery.deletedPersons()).toEqual(new Map([['alice', new Date(T(5))]]));
  });

  it('a tombstone with faceIds removes only those faces', async () => {
    const { gallery } = open();
    const a1 = record('alice', '1.jpg', T(1));
    const a2 = record('alice', '2.jpg', T(1));
    await gallery.append([a1, a2]);
    await gallery.tombstone({ personId: 'alice', deletedAt: T(2), faceIds: [a1.faceId] });
    expect(ids(await gallery.readAll())).toEqual([a2.faceId]);
  });

  it('compact() erases what tombstones delete: segments rewritten or removed, re-enrollments kept', async () => {
    const { storage, gallery } = open();
    const gone1 = record('gone', '1.jpg', T(1));
    const kept1 = record('kept', '1.jpg', T(1));
    const mixed = await gallery.append([gone1, kept1]);
    const onlyGone = await gallery.append([record('gone', '2.jpg', T(2))]);
    const face = record('partly', '1.jpg', T(1));
    const faceKept = record('partly', '2.jpg', T(1));
    await gallery.append([face, faceKept]);
    await gallery.tombstone({ personId: 'gone', deletedAt: T(3) });
    await gallery.tombstone({ personId: 'partly', deletedAt: T(3), faceIds: [face.faceId] });
    const back = record('gone', '3.jpg', T(4)); // re-enrolled after the deletion
    await gallery.append([back]);
    const before = await gallery.readAll();

    expect(await gallery.compact()).toEqual({ rewritten: 2, removed: 1, records: 3 });
    expect(await gallery.readAll()).toEqual(before);
    expect(await storage.head(onlyGone)).toBeNull();
    const text = Buffer.from(await storage.get(mixed)).toString('utf8');
    expect(text).not.toContain(gone1.faceId);
    expect(text).toContain(kept1.faceId);
    expect(ids(await gallery.readAll())).toContain(back.faceId);
    expect(await gallery.compact()).toEqual({ rewritten: 0, removed: 0, records: 0 });
  });

  it('quarantines a corrupt segment, tombstone or failures object; readers go on', async () => {
    const { storage, gallery } = open();
    const good = record('alice', '1.jpg', T(1));
    await gallery.append([good]);
    const bad = [
      `${gallery.prefix}segments/zz-bad.jsonl`,
      `${gallery.prefix}tombstones/zz-bad.json`,
      `${gallery.prefix}failures/zz-bad.jsonl`,
    ];
    for (const key of bad) await storage.put(key, '{"half": ');
    const noEmbedding = await gallery.append([good]);
    await storage.put(noEmbedding, `${JSON.stringify({ ...good, embedding: 'none' })}\n`);

    expect(ids(await gallery.readAll())).toEqual([good.faceId]);
    expect(await gallery.readFailures()).toEqual([]);
    expect(await gallery.readTombstones()).toEqual([]);
    expect(await gallery.countQuarantined()).toBe(4);
    for (const key of [...bad, noEmbedding]) {
      expect(await storage.head(key)).toBeNull();
      expect(await storage.head(`${gallery.quarantinePrefix}${key.slice(gallery.prefix.length)}`)).not.toBeNull();
    }
  });

  it('reads every segment with small list pages (pageSize 2 over 5 segments)', async () => {
    const { storage, gallery } = open({ pageSize: 2 });
    const listSpy = vi.spyOn(storage, 'list');
    const written: GalleryRecord[] = [];
    for (let i = 0; i < 5; i++) {
      const r = record(`p${i}`, `${i}.jpg`, T(i));
      written.push(r);
      await gallery.append([r]);
    }
    await gallery.tombstone({ personId: 'p0', deletedAt: T(10) });
    const all = await gallery.readAll();
    expect(new Set(ids(all))).toEqual(new Set(ids(written.slice(1))));
    const segmentCalls = listSpy.mock.calls.filter(([prefix]) => prefix.endsWith('/segments/'));
    expect(segmentCalls.length).toBe(3); // 2 + 2 + 1
    for (const [, options] of listSpy.mock.calls) expect(options?.limit).toBe(2);
  });
});

describe('faceIdFor', () => {
  it('is deterministic, differs by etag and model, and is safe as a job id', () => {
    const id = faceIdFor('file:///src', 'archive/alice/1.jpg', 'abc', 'facepipe-fused-v1');
    expect(faceIdFor('file:///src', 'archive/alice/1.jpg', 'abc', 'facepipe-fused-v1')).toBe(id);
    expect(id).toMatch(/^f[0-9a-f]{32}$/);
    expect(id).not.toContain(':');
    expect(Number.isInteger(Number(id))).toBe(false);
    expect(faceIdFor('file:///src', 'archive/alice/1.jpg', 'abd', 'facepipe-fused-v1')).not.toBe(id);
    expect(faceIdFor('file:///src', 'archive/alice/1.jpg', 'abc', 'other-model')).not.toBe(id);
    expect(faceIdFor('file:///src', 'archive/alice/2.jpg', 'abc', 'facepipe-fused-v1')).not.toBe(id);
    expect(faceIdFor('file:///src', 'archive/alice/1.jpg', 'abc', 'facepipe-fused-v1', 1)).not.toBe(id);
    expect(faceIdFor('file:///src', 'a:b', 'c', 'm')).not.toBe(faceIdFor('file:///src', 'a', 'b:c', 'm'));
  });
});

describe('GalleryStore validation', () => {
  it('refuses records of another model and bad times', async () => {
    const gallery = new GalleryStore(openStorage(path.join(tmpdir(), `facepipe-unused-${runId}`)), MODEL);
    await expect(gallery.append([record('a', '1.jpg', T(1), { model: 'other' })])).rejects.toThrow(/does not match/);
    await expect(gallery.append([record('a', '1.jpg', 'yesterday')])).rejects.toThrow(/enrolledAt/);
    await expect(gallery.tombstone({ personId: 'a', deletedAt: 'soon' })).rejects.toThrow(/deletedAt/);
    expect(() => new GalleryStore(openStorage('./x'), '')).toThrow(/model/);
    expect(new GalleryStore(openStorage('./x'), '..').prefix).toBe('facepipe/gallery/%2E%2E/');
  });
});
