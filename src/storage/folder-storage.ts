import { randomBytes } from 'node:crypto';
import type { BigIntStats, Dirent } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, realpath, rename, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { compareKeys } from './compare-keys.js';
import { InvalidStorageKeyError } from './invalid-storage-key-error.js';
import {
  listLimit,
  type ListOptions,
  type ListPage,
  type PutOptions,
  type RefusedObject,
  type Storage,
  type StorageObject,
} from './storage.js';
import { StorageNotFoundError } from './storage-not-found-error.js';
import { SymlinkRefusedError } from './symlink-refused-error.js';

/** Names of in-flight writes; listings never show them. */
const TEMP_PREFIX = '.facepipe-tmp-';

/** A temp file older than this is a killed writer's: no `put` takes that long. */
export const DEFAULT_TEMP_MAX_AGE_MS = 15 * 60_000;

export interface FolderStorageOptions {
  /**
   * Follow symbolic links inside the folder (default true). Sources are opened with false unless
   * FACEPIPE_FOLLOW_SYMLINKS says otherwise: a link is then left out of listings (reported in
   * `refused`) and any key that is or passes through a link is refused (SymlinkRefusedError), so
   * nothing outside the folder is read or written through one.
   */
  followSymlinks?: boolean;
}

/**
 * Storage in a local folder; a key is a path relative to the root.
 *
 * - `put` is atomic: it writes a temp file in the target's directory, syncs it and renames it
 *   over the target, so readers see the old content or the new, never a partial file.
 * - The etag is `<size>-<mtimeNs>-<inode>` (hex), from one `stat`: cheap for listings of
 *   thousands of files, and it changes whenever the file is rewritten (every `put` creates a new
 *   inode). It is not an MD5 of the content, so it cannot be compared with S3 ETags.
 * - Keys cannot leave the root: absolute keys and '..' segments are refused.
 */
export class FolderStorage implements Storage {
  readonly root: string;
  readonly url: string;
  readonly followSymlinks: boolean;
  private realRoot: Promise<string> | undefined;

  constructor(root: string, options: FolderStorageOptions = {}) {
    this.root = path.resolve(root);
    this.url = pathToFileURL(this.root).href;
    this.followSymlinks = options.followSymlinks ?? true;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const limit = listLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const found: StorageObject[] = [];
    const refused: RefusedObject[] = [];
    // One more than asked, so the last page says it is the last.
    await this.walk('', prefix, after, limit + 1, found, refused);
    if (found.length <= limit) return refused.length > 0 ? { items: found, refused } : { items: found };
    const items = found.slice(0, limit);
    const last = items[items.length - 1].key;
    // Links after the page's last key are the next page's to report.
    const mine = refused.filter((r) => compareKeys(r.key, last) < 0);
    return { items, cursor: encodeCursor(last), ...(mine.length > 0 ? { refused: mine } : {}) };
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.resolve(key);
    try {
      await this.refuseLinks(key, file);
      return await readFile(file);
    } catch (err) {
      if (isMissing(err) || errnoCode(err) === 'EISDIR') throw new StorageNotFoundError(key, this.url);
      throw err;
    }
  }

  async put(key: string, body: Uint8Array | string, _options: PutOptions = {}): Promise<{ etag: string }> {
    const file = this.resolve(key);
    const dir = path.dirname(file);
    await this.refuseLinks(key, dir, true);
    await mkdir(dir, { recursive: true });
    const temp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      // A concurrent delete() may remove the folder, empty, between mkdir and open: make it again.
      const handle = await open(temp, 'wx').catch(async (err: unknown) => {
        if (!isMissing(err)) throw err;
        await mkdir(dir, { recursive: true });
        return open(temp, 'wx');
      });
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    const stats = await stat(file, { bigint: true });
    return { etag: etagOf(stats) };
  }

  async head(key: string): Promise<StorageObject | null> {
    const file = this.resolve(key);
    try {
      await this.refuseLinks(key, file);
      const stats = await stat(file, { bigint: true });
      return stats.isFile() ? toObject(key, stats) : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.resolve(key);
    try {
      await this.refuseLinks(key, path.dirname(file), true);
      await unlink(file);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    // Folders are not objects: one left empty by the delete goes too, and its empty parents.
    for (let dir = path.dirname(file); dir.startsWith(this.root + path.sep); dir = path.dirname(dir)) {
      if (
        !(await rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        break;
    }
  }

  /**
   * Removes temp files older than `staleMs` (of writers that died mid-`put`; live writes are younger)
   * under `prefix`, and with `removeEmptyFolders` the folders left empty; returns how many temp files.
   */
  async sweep(prefix: string, staleMs: number, { removeEmptyFolders = true, now = Date.now() } = {}): Promise<number> {
    const base = prefix === '' ? this.root : this.resolve(prefix.replace(/\/+$/, ''));
    let removed = 0;
    const visit = async (dir: string): Promise<boolean> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return true;
        throw err;
      }
      let empty = true;
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if ((await visit(full)) && removeEmptyFolders) await rmdir(full).catch(() => (empty = false));
          else empty = false;
        } else if (entry.isFile() && entry.name.startsWith(TEMP_PREFIX)) {
          const stats = await lstat(full).catch(() => null);
          if (stats !== null && now - stats.mtimeMs > staleMs) {
            await unlink(full).then(
              () => removed++,
              () => (empty = false),
            );
          } else empty = false;
        } else empty = false;
      }
      return empty;
    };
    await visit(base);
    return removed;
  }

  /**
   * Removes the temp files of writers killed mid-`put` (older than `maxAgeMs`, so that live writes
   * are left alone), anywhere under the root; returns how many. Run at the start of a process.
   */
  async removeStaleTempFiles(maxAgeMs: number = DEFAULT_TEMP_MAX_AGE_MS, now = Date.now()): Promise<number> {
    return this.sweep('', maxAgeMs, { removeEmptyFolders: false, now });
  }

  /**
   * When links are not followed: refuses a path (`file`, the key's file or folder) that is a link or
   * passes through one, by comparing its real path with where it would be without links. A missing
   * path throws ENOENT as reading it would; with `missingOk` (a folder about to be made) its
   * nearest existing parent is checked instead.
   */
  private async refuseLinks(key: string, file: string, missingOk = false): Promise<void> {
    if (this.followSymlinks) return;
    this.realRoot ??= realpath(this.root);
    const realRoot = await this.realRoot.catch((err) => {
      this.realRoot = undefined; // the root may be made later
      throw err;
    });
    let real: string;
    try {
      real = await realpath(file);
    } catch (err) {
      if (missingOk && isMissing(err) && file !== this.root) return this.refuseLinks(key, path.dirname(file), true);
      throw err;
    }
    if (real !== path.join(realRoot, path.relative(this.root, file))) throw new SymlinkRefusedError(key, this.url);
  }

  /** The absolute path of a key, refusing keys that would leave the root. */
  private resolve(key: string): string {
    if (typeof key !== 'string' || key === '') throw new InvalidStorageKeyError(String(key), 'empty');
    if (key.includes('\0')) throw new InvalidStorageKeyError(key, 'contains a NUL byte');
    if (key.startsWith('/') || key.includes('\\') || path.isAbsolute(key)) {
      throw new InvalidStorageKeyError(key, 'keys are relative and "/"-separated');
    }
    const segments = key.split('/');
    if (segments.some((segment) => segment === '..' || segment === '.')) {
      throw new InvalidStorageKeyError(key, '"." and ".." segments are not allowed');
    }
    if (segments.some((segment) => segment === '')) throw new InvalidStorageKeyError(key, 'empty segment');
    if (segments[segments.length - 1].startsWith(TEMP_PREFIX)) {
      throw new InvalidStorageKeyError(key, `names starting with ${TEMP_PREFIX} are reserved`);
    }
    const file = path.resolve(this.root, ...segments);
    if (!file.startsWith(this.root + path.sep)) throw new InvalidStorageKeyError(key, 'outside the storage root');
    return file;
  }

  /**
   * Depth-first walk in key order: entries sorted by name, with '/' appended to directory names,
   * give keys in global lexicographic order. Subtrees that cannot hold keys matching `prefix`, or
   * keys after `after`, are skipped without reading them. Stops once `want` objects are found.
   */
  private async walk(
    dirKey: string,
    prefix: string,
    after: string | undefined,
    want: number,
    found: StorageObject[],
    refused: RefusedObject[],
  ): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(dirKey === '' ? this.root : path.join(this.root, dirKey), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return; // no root yet, or removed while we walk
      throw err;
    }
    const named: { key: string; sortKey: string; dir: boolean }[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      let dir = entry.isDirectory();
      let file = entry.isFile();
      if (entry.isSymbolicLink() && !this.followSymlinks) {
        const key = dirKey + entry.name;
        if (key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0))
          refused.push({ key, code: 'SYMLINK_REFUSED', reason: 'a symbolic link: not followed' });
        continue;
      }
      if (entry.isSymbolicLink()) {
        const target = await stat(path.join(this.root, dirKey, entry.name)).catch(() => null);
        dir = target?.isDirectory() ?? false;
        file = target?.isFile() ?? false;
      }
      if (!dir && !file) continue;
      const key = dirKey + entry.name;
      named.push({ key, sortKey: dir ? `${key}/` : key, dir });
    }
    named.sort((a, b) => compareKeys(a.sortKey, b.sortKey));

    for (const { key, sortKey, dir } of named) {
      if (found.length >= want) return;
      if (dir) {
        // Every key below starts with sortKey ("dir/").
        const matchesPrefix = sortKey.startsWith(prefix) || prefix.startsWith(sortKey);
        const beforeCursor = after !== undefined && compareKeys(sortKey, after) < 0 && !after.startsWith(sortKey);
        if (matchesPrefix && !beforeCursor) await this.walk(sortKey, prefix, after, want, found, refused);
        continue;
      }
      if (!key.startsWith(prefix)) continue;
      if (after !== undefined && compareKeys(key, after) <= 0) continue;
      try {
        const stats = await stat(path.join(this.root, key), { bigint: true });
        if (stats.isFile()) found.push(toObject(key, stats));
      } catch (err) {
        if (!isMissing(err)) throw err; // deleted while we walk: skip it
      }
    }
  }
}

function toObject(key: string, stats: BigIntStats): StorageObject {
  return { key, size: Number(stats.size), etag: etagOf(stats), modified: new Date(Number(stats.mtimeMs)) };
}

function etagOf(stats: BigIntStats): string {
  return `${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}-${stats.ino.toString(16)}`;
}

function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw new Error(`invalid list cursor: ${JSON.stringify(cursor)}`);
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
