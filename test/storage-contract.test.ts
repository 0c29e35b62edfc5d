import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaceError } from '../src/errors/face-error.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { InvalidStorageKeyError } from '../src/storage/invalid-storage-key-error.js';
import { S3Storage } from '../src/storage/s3-storage.js';
import type { Storage } from '../src/storage/storage.js';
import { StorageNotFoundError } from '../src/storage/storage-not-found-error.js';
import { useStorageImplementations } from './support/storage-implementations.js';

const storages = useStorageImplementations({ bucketPrefix: 'facepipe-test', folderPrefix: 'facepipe-storage-' });
const { implementations } = storages;

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

async function listAll(storage: Storage, prefix: string, limit?: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await storage.list(prefix, { cursor, limit });
    if (limit !== undefined) expect(page.items.length).toBeLessThanOrEqual(limit);
    keys.push(...page.items.map((item) => item.key));
    cursor = page.cursor;
    if (++pages > 100) throw new Error('pagination does not end');
  } while (cursor !== undefined);
  return keys;
}

describe.each(implementations)('storage contract: $name', ({ name, fresh }) => {
  let storage: Storage;
  const open = () => {
    storage = fresh();
    return storage;
  };

  it('opens the right implementation', () => {
    open();
    expect(storage).toBeInstanceOf(name === 's3' ? S3Storage : FolderStorage);
    expect(storage.url).toMatch(name === 's3' ? /^s3:\/\// : /^file:\/\//);
  });

  it('round-trips binary bytes and strings', async () => {
    open();
    const bytes = new Uint8Array(256 * 1024 + 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
    const { etag } = await storage.put('img/photo.jpg', bytes, { contentType: 'image/jpeg' });
    expect(etag).not.toBe('');
    expect(Buffer.from(await storage.get('img/photo.jpg')).equals(Buffer.from(bytes))).toBe(true);

    await storage.put('note.json', '{"é":"ünïcødé ✓"}', { contentType: 'application/json' });
    expect(text(await storage.get('note.json'))).toBe('{"é":"ünïcødé ✓"}');

    await storage.put('empty.bin', new Uint8Array());
    expect((await storage.get('empty.bin')).length).toBe(0);
  });

  it('head gives the size and an etag that changes with the content', async () => {
    open();
    const first = await storage.put('a.txt', 'hello');
    const head1 = await storage.head('a.txt');
    expect(head1).toMatchObject({ key: 'a.txt', size: 5, etag: first.etag });
    expect(head1!.modified).toBeInstanceOf(Date);
    expect(Math.abs(head1!.modified.getTime() - Date.now())).toBeLessThan(60_000);

    const second = await storage.put('a.txt', 'world'); // same size, right away
    const head2 = await storage.head('a.txt');
    expect(head2).toMatchObject({ key: 'a.txt', size: 5, etag: second.etag });
    expect(head2!.etag).not.toBe(head1!.etag);
    expect(text(await storage.get('a.txt'))).toBe('world');
  });

  it('head of a missing key is null', async () => {
    open();
    expect(await storage.head('missing.jpg')).toBeNull();
    expect(await storage.head('no/such/dir/missing.jpg')).toBeNull();
  });

  it('get of a missing key throws StorageNotFoundError (a MISSING_FILE FaceError naming the key)', async () => {
    open();
    const error = await storage.get('archive/nobody/1.jpg').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StorageNotFoundError);
    expect(error).toBeInstanceOf(FaceError);
    expect((error as StorageNotFoundError).code).toBe('MISSING_FILE');
    expect((error as StorageNotFoundError).key).toBe('archive/nobody/1.jpg');
    expect((error as Error).message).toContain('archive/nobody/1.jpg');
  });

  it('delete removes the object, and deleting a missing key is fine', async () => {
    open();
    await storage.put('x/gone.txt', 'bye');
    await storage.delete('x/gone.txt');
    expect(await storage.head('x/gone.txt')).toBeNull();
    await expect(storage.get('x/gone.txt')).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(storage.delete('x/gone.txt')).resolves.toBeUndefined();
    await expect(storage.delete('never/was.txt')).resolves.toBeUndefined();
    expect(await listAll(storage, '')).toEqual([]);
  });

  it('list returns sorted keys under the prefix only, with metadata', async () => {
    open();
    const keys = [
      'archive/bob/2.jpg',
      'archive/alice/1.jpg',
      'archive/bob/1.jpg',
      'archive-old/x.jpg',
      'cctv/1.jpg',
      'archive.txt',
    ];
    for (const key of keys) await storage.put(key, `content of ${key}`);

    expect(await listAll(storage, 'archive/')).toEqual([
      'archive/alice/1.jpg',
      'archive/bob/1.jpg',
      'archive/bob/2.jpg',
    ]);
    // A prefix is a plain string prefix, as in S3, not only a folder.
    expect(await listAll(storage, 'archive/b')).toEqual(['archive/bob/1.jpg', 'archive/bob/2.jpg']);
    // S3 orders whole keys by their bytes: '-' and '.' sort before '/'. s3rver does not (it walks
    // its folders one at a time), so for it only the set of keys is checked.
    const wholeKeyOrder = [
      'archive-old/x.jpg',
      'archive.txt',
      'archive/alice/1.jpg',
      'archive/bob/1.jpg',
      'archive/bob/2.jpg',
    ];
    const underArchive = await listAll(storage, 'archive');
    if (name === 's3') expect([...underArchive].sort()).toEqual(wholeKeyOrder);
    else expect(underArchive).toEqual(wholeKeyOrder);
    const all = await listAll(storage, '');
    expect(name === 's3' ? [...all].sort() : all).toEqual([...keys].sort());
    expect(await listAll(storage, 'nothing/')).toEqual([]);

    const page = await storage.list('cctv/');
    expect(page.cursor).toBeUndefined();
    expect(page.items).toHaveLength(1);
    const head = await storage.head('cctv/1.jpg');
    expect(page.items[0]).toMatchObject({ key: 'cctv/1.jpg', size: 'content of cctv/1.jpg'.length, etag: head!.etag });
    expect(page.items[0].modified).toBeInstanceOf(Date);
  });

  it('pagination with limit 2 over 5 keys visits every key exactly once', async () => {
    open();
    const keys = ['p/e.txt', 'p/a.txt', 'p/d/1.txt', 'p/c.txt', 'p/b/1.txt'];
    for (const key of keys) await storage.put(key, key);
    await storage.put('q/outside.txt', 'no');

    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await storage.list('p/', { limit: 2, cursor });
      pages.push(page.items.map((item) => item.key));
      cursor = page.cursor;
    } while (cursor !== undefined && pages.length < 10);

    expect(pages.flat()).toEqual([...keys].sort());
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
  });

  it('handles nested keys like a/b/c.json', async () => {
    open();
    await storage.put('a/b/c.json', '{"ok":true}');
    expect(JSON.parse(text(await storage.get('a/b/c.json')))).toEqual({ ok: true });
    expect((await storage.head('a/b/c.json'))?.size).toBe(11);
    expect(await listAll(storage, 'a/')).toEqual(['a/b/c.json']);
    expect(await listAll(storage, 'a/b/')).toEqual(['a/b/c.json']);
  });

  it('handles keys with spaces and other characters', async () => {
    open();
    const keys = ['my photos/Jean Dupont/IMG 0001.jpg', 'my photos/Zoë (2019)/a+b&c=d.jpg'];
    for (const key of keys) await storage.put(key, key);
    for (const key of keys) expect(text(await storage.get(key))).toBe(key);
    expect(await listAll(storage, 'my photos/')).toEqual(keys);
    expect((await storage.head(keys[0]))?.key).toBe(keys[0]);
  });

  if (name === 'folder') {
    it('leaves no temp file behind after put', async () => {
      const folder = open() as FolderStorage;
      await storage.put('dir/one.txt', '1');
      await storage.put('dir/one.txt', '2');
      await storage.put('dir/two.bin', new Uint8Array([1, 2, 3]));
      expect((await readdir(path.join(folder.root, 'dir'))).sort()).toEqual(['one.txt', 'two.bin']);
      expect(await listAll(storage, '')).toEqual(['dir/one.txt', 'dir/two.bin']);
    });

    it('refuses keys that would leave the root', async () => {
      open();
      for (const key of ['../escape.txt', 'a/../../escape.txt', 'a/..', '/etc/passwd', '']) {
        await expect(storage.put(key, 'x'), key).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.get(key), key).rejects.toBeInstanceOf(InvalidStorageKeyError);
      }
      await expect(storage.put('../escape.txt', 'x')).rejects.toThrow(/\.\./);
      expect(await readdir(storages.folderRoot)).not.toContain('escape.txt');
    });
  }
});
