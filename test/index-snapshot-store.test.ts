import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FaceIndex } from '../src/index/face-index.js';
import { IndexSnapshotStore } from '../src/index/index-snapshot-store.js';
import type { IndexSnapshotMeta } from '../src/index/index-snapshot-types.js';
import { logger } from '../src/logger.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { clusteredFaces, noisy, prng } from './support/synthetic-embeddings.js';
import { useStorageImplementations } from './support/storage-implementations.js';

const { implementations } = useStorageImplementations({
  bucketPrefix: 'facepipe-snapshots',
  folderPrefix: 'facepipe-snapshots-',
});

// A model id with characters that are unsafe in keys.
const MODEL = 'my model/v1:α';
const DIM = 16;

function build(seed: number, persons = 20, perPerson = 3) {
  const rand = prng(seed);
  const sigma = 0.4 / Math.sqrt(DIM);
  const { faces, centres } = clusteredFaces(rand, { dim: DIM, persons, perPerson, sigma });
  const index = new FaceIndex({ dim: DIM });
  index.add(faces);
  const queries = Array.from({ length: 30 }, () => noisy(rand, centres[Math.floor(rand() * persons)], sigma));
  return { index, faces, queries };
}

function metaOf(index: FaceIndex, extra: Partial<IndexSnapshotMeta> = {}): IndexSnapshotMeta {
  return {
    createdAt: new Date().toISOString(),
    changePosition: '1764382507120-3',
    deletions: { 'p-gone': '2026-11-29T02:15:07.120Z' },
    faces: index.size,
    persons: index.persons().length,
    m: index.m,
    efConstruction: index.efConstruction,
    ...extra,
  };
}

/** Saves and then waits, so that the next snapshot's name (millisecond time) is later. */
async function save(
  store: IndexSnapshotStore,
  index: FaceIndex,
  extra: Partial<IndexSnapshotMeta> = {},
): Promise<string> {
  const name = await store.save(index.serialize(), metaOf(index, extra));
  await new Promise((resolve) => setTimeout(resolve, 5));
  return name;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(implementations)('index snapshot store: $name', ({ fresh }) => {
  const open = () => {
    const storage = fresh();
    return { storage, store: new IndexSnapshotStore(storage, MODEL) };
  };

  it('round-trips an index: same search results, meta with checksum, keys under the encoded model', async () => {
    const { storage, store } = open();
    const { index, queries } = build(1);
    index.removePerson('p3'); // deleted labels survive the trip too
    const meta = metaOf(index);
    const name = await store.save(index.serialize(), meta);
    expect(name).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]{16}$/);
    const keys = (await storage.list('facepipe/')).items.map((item) => item.key).sort();
    const dir = `facepipe/index/my%20model%2Fv1%3A%CE%B1/${name}/`;
    expect(keys).toEqual([`${dir}index.bin`, `${dir}maps.json`, `${dir}meta.json`]);

    const loaded = await store.loadNewest();
    expect(loaded?.name).toBe(name);
    const sha = expect.stringMatching(/^[0-9a-f]{64}$/);
    expect(loaded?.meta).toEqual({ ...meta, indexSha256: sha, files: { 'index.bin': sha, 'maps.json': sha } });
    expect(loaded?.index.size).toBe(index.size);
    expect(loaded?.index.persons()).toEqual(index.persons());
    expect(loaded?.index.ef).toBe(index.ef);
    expect(loaded?.index.search(queries, 5)).toEqual(index.search(queries, 5));
    expect(loaded?.index.has('p3-f0')).toBe(false);

    expect((await store.loadNewest({ ef: 40 }))?.index.ef).toBe(40);
    expect(await store.list()).toEqual([{ name, complete: true }]);
  });

  it('round-trips a sharded index in the same three files, and refuses it cut short', async () => {
    const { storage, store } = open();
    const rand = prng(9);
    const sigma = 0.4 / Math.sqrt(DIM);
    const { faces, centres } = clusteredFaces(rand, { dim: DIM, persons: 30, perPerson: 3, sigma });
    const index = new FaceIndex({ dim: DIM, shards: 3 });
    index.add(faces);
    index.removePerson('p4');
    const queries = Array.from({ length: 20 }, () => noisy(rand, centres[Math.floor(rand() * 30)], sigma));
    const name = await save(store, index);
    const dir = `${store.prefix}${name}/`;
    expect((await storage.list(dir)).items.map((item) => item.key).sort()).toEqual(
      ['index.bin', 'maps.json', 'meta.json'].map((f) => dir + f),
    );
    const loaded = await store.loadNewest();
    expect(loaded?.index.shardCount).toBe(3);
    expect(loaded?.index.size).toBe(87);
    expect(loaded?.index.search(queries, 5)).toEqual(index.search(queries, 5));

    // the last shard cut short: refused by its checksum, never half-loaded
    const bytes = await storage.get(`${dir}index.bin`);
    await storage.put(`${dir}index.bin`, bytes.subarray(0, bytes.length - 100));
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    expect(await store.loadNewest()).toBeUndefined();
    expect(store.skipped).toEqual([{ name, reason: expect.stringMatching(/^corrupt: index.bin has sha256/) }]);
  });

  it('an empty store has no snapshot', async () => {
    const { store } = open();
    expect(await store.loadNewest()).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await store.prune()).toBe(0);
  });

  it('loads the newest snapshot; other models and stray objects are ignored', async () => {
    const { storage, store } = open();
    const older = build(2);
    const newer = build(3, 10, 2);
    const first = await save(store, older.index, { changePosition: '1-0' });
    const second = await save(store, newer.index, { changePosition: '2-0' });
    await save(new IndexSnapshotStore(storage, `${MODEL}-other`), build(4).index);
    await storage.put(`${store.prefix}README.txt`, 'not a snapshot');
    await storage.put(`${store.prefix}not-a-snapshot/meta.json`, '{}');

    expect((await store.list()).map((s) => s.name)).toEqual([second, first]);
    const loaded = await store.loadNewest();
    expect(loaded?.name).toBe(second);
    expect(loaded?.meta.changePosition).toBe('2-0');
    expect(loaded?.index.size).toBe(20);
  });

  it('skips incomplete, corrupt and checksum-mismatched snapshots, with a warning each', async () => {
    const { storage, store } = open();
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const good = build(5);
    const goodName = await save(store, good.index, { changePosition: '10-0' });
    const dirOf = (name: string) => `${store.prefix}${name}/`;

    const badMaps = await save(store, build(6).index);
    await storage.put(`${dirOf(badMaps)}maps.json`, '{"version": 1, "faces": [');
    const badLabels = await save(store, build(7).index);
    const maps = JSON.parse(Buffer.from(await storage.get(`${dirOf(badLabels)}maps.json`)).toString('utf8'));
    maps.nextLabel = 1; // restore() refuses labels >= nextLabel
    await storage.put(`${dirOf(badLabels)}maps.json`, JSON.stringify(maps));
    const badChecksum = await save(store, build(8).index);
    const bytes = await storage.get(`${dirOf(badChecksum)}index.bin`);
    bytes[bytes.length - 1] ^= 0xff;
    await storage.put(`${dirOf(badChecksum)}index.bin`, bytes);
    const badMeta = await save(store, build(9).index);
    await storage.put(`${dirOf(badMeta)}meta.json`, 'not json');
    const lost = await save(store, build(13).index);
    await storage.delete(`${dirOf(lost)}index.bin`); // e.g. another replica's prune
    const incomplete = await save(store, build(10).index);
    await storage.delete(`${dirOf(incomplete)}meta.json`);

    expect(await store.list()).toEqual([
      { name: incomplete, complete: false },
      { name: lost, complete: true },
      { name: badMeta, complete: true },
      { name: badChecksum, complete: true },
      { name: badLabels, complete: true },
      { name: badMaps, complete: true },
      { name: goodName, complete: true },
    ]);
    const loaded = await store.loadNewest();
    expect(loaded?.name).toBe(goodName);
    expect(loaded?.meta.changePosition).toBe('10-0');
    expect(loaded?.index.search(good.queries, 3)).toEqual(good.index.search(good.queries, 3));
    const warned = warn.mock.calls.map(([fields]) => (fields as unknown as { snapshot: string }).snapshot);
    expect(warned).toEqual([incomplete, lost, badMeta, badChecksum, badLabels, badMaps].map(dirOf));
    expect(JSON.stringify(warn.mock.calls[3])).toMatch(/sha256/);
  });

  it('a storage fault other than a missing object is not taken for damage', async () => {
    const { storage, store } = open();
    await save(store, build(14).index);
    await save(store, build(15).index);
    vi.spyOn(storage, 'get').mockRejectedValueOnce(new Error('connect ECONNREFUSED'));
    await expect(store.loadNewest()).rejects.toThrow(/ECONNREFUSED/);
  });

  it('prune keeps the newest N complete snapshots and drops older incomplete ones', async () => {
    const { storage, store } = open();
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const { index } = build(11, 5, 2);
    const s1 = await save(store, index);
    const s2 = await save(store, index);
    const stale = await save(store, index);
    await storage.delete(`${store.prefix}${stale}/meta.json`);
    const s3 = await save(store, index);
    const s4 = await save(store, index);
    const inProgress = await save(store, index);
    await storage.delete(`${store.prefix}${inProgress}/meta.json`);

    expect(await store.prune(2)).toBe(3); // s1, s2 and the stale incomplete one
    expect(await store.list()).toEqual([
      { name: inProgress, complete: false },
      { name: s4, complete: true },
      { name: s3, complete: true },
    ]);
    const keys = (await storage.list(store.prefix)).items.map((item) => item.key);
    for (const gone of [s1, s2, stale]) expect(keys.some((key) => key.includes(gone))).toBe(false);
    expect(await store.prune()).toBe(0);
    expect(await store.prune(1)).toBe(1);
    expect((await store.loadNewest())?.name).toBe(s4);
    await expect(store.prune(0)).rejects.toThrow(RangeError);
  });

  it('refuses meta that does not describe the snapshot', async () => {
    const { store } = open();
    const { index } = build(12, 4, 2);
    await expect(store.save(index.serialize(), metaOf(index, { faces: 7 }))).rejects.toThrow(
      /faces is 7 in meta, 8 in the index/,
    );
    await expect(store.save(index.serialize(), metaOf(index, { changePosition: 'latest' }))).rejects.toThrow(
      /changePosition/,
    );
    await expect(store.save(index.serialize(), metaOf(index, { deletions: { a: 'yesterday' } }))).rejects.toThrow(
      /deletions/,
    );
    expect(await store.list()).toEqual([]);
  });

  it('checksums maps.json: a swapped label (valid JSON, same counts) is refused, not loaded', async () => {
    const { storage, store } = open();
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const good = build(16, 6, 2);
    const goodName = await save(store, good.index, { changePosition: '20-0' });
    const tampered = await save(store, build(17, 6, 2).index, { changePosition: '21-0' });
    const key = `${store.prefix}${tampered}/maps.json`;
    const maps = JSON.parse(Buffer.from(await storage.get(key)).toString('utf8'));
    // The faces of p0 and p1 trade names: every count in meta.json still matches.
    const [a, b] = [maps.faces[0], maps.faces.find((f: [number, string, string]) => f[2] !== maps.faces[0][2])];
    [a[2], b[2]] = [b[2], a[2]];
    await storage.put(key, JSON.stringify(maps));

    const loaded = await store.loadNewest();
    expect(loaded?.name).toBe(goodName);
    expect(store.skipped).toEqual([{ name: tampered, reason: expect.stringMatching(/maps\.json has sha256/) }]);
  });

  it('prune after a fallback removes the damaged snapshot and keeps the good ones; before= removes older', async () => {
    const { storage, store } = open();
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const { index } = build(18, 5, 2);
    await save(store, index);
    const s2 = await save(store, index);
    const broken = await save(store, index);
    const key = `${store.prefix}${broken}/index.bin`;
    const bytes = await storage.get(key);
    await storage.put(key, bytes.subarray(0, bytes.length >> 1)); // truncated
    expect((await store.loadNewest())?.name).toBe(s2);
    const s3 = await save(store, index); // what the service writes next

    expect(await store.prune(2)).toBe(2); // the broken one, and s1 (beyond the 2 newest good ones)
    expect(await store.list()).toEqual([
      { name: s3, complete: true },
      { name: s2, complete: true },
    ]);
    const s4 = await save(store, index);
    expect(await store.prune(2, { before: s4 })).toBe(2);
    expect((await store.list()).map((s) => s.name)).toEqual([s4]);
  });
});

describe('index snapshot store on a folder: what writers that died leave behind', () => {
  it('prune leaves no empty snapshot folder and removes stale temp files', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'facepipe-snapshot-sweep-'));
    try {
      const storage = new FolderStorage(root);
      const store = new IndexSnapshotStore(storage, MODEL);
      const { index } = build(19, 5, 2);
      const old = await save(store, index);
      await save(store, index);
      await save(store, index);
      // A writer killed mid-put: only its temp file is left, in a folder of its own (stale), and a
      // fresh one of a live writer next to it.
      const killed = path.join(root, store.prefix, '20261206T000000000Z-00000000000000aa');
      await mkdir(killed, { recursive: true });
      const staleTemp = path.join(killed, '.facepipe-tmp-0123456789abcdef');
      await writeFile(staleTemp, 'half an index');
      const longAgo = new Date(Date.now() - 3_600_000);
      await utimes(staleTemp, longAgo, longAgo);
      const liveTemp = path.join(root, store.prefix, '.facepipe-tmp-fedcba9876543210');
      await writeFile(liveTemp, 'being written');

      expect(await store.prune(2)).toBe(1);
      const left = await readdir(path.join(root, store.prefix));
      expect(left).not.toContain(old);
      expect(left).not.toContain(path.basename(killed));
      expect(left).toContain(path.basename(liveTemp));
      expect(left.filter((name) => !name.startsWith('.')).length).toBe(2);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
