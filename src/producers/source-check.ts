import { stat } from 'node:fs/promises';
import { IMAGE_EXTENSIONS } from '../files/image-files.js';
import { FolderStorage } from '../storage/folder-storage.js';
import type { Storage } from '../storage/storage.js';
import { SourceError } from './source-error.js';

/**
 * Refuses a source that does not exist: a folder that is missing (or is a file), or an S3 prefix
 * with no object under it (S3 has no folders: an empty prefix and a mistyped one look the same).
 * Without this, a typo in the path runs an "empty" run that succeeds.
 */
export async function requireSourceExists(source: Storage): Promise<void> {
  if (source instanceof FolderStorage) {
    const stats = await stat(source.root).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
    if (stats === undefined) throw new SourceError(`source ${source.root}: no such folder`);
    if (!stats.isDirectory())
      throw new SourceError(`source ${source.root} is a file: give the folder that holds the images`);
    return;
  }
  const page = await source.list('', { limit: 1 });
  if (page.items.length === 0)
    throw new SourceError(`source ${source.url} holds no object: check the bucket and prefix`);
}

/** How messages name a source: a folder by its path, else by its URL. */
export function sourceName(source: Storage): string {
  return source instanceof FolderStorage ? source.root : source.url;
}

/** The error for a source that exists but holds no image at all. */
export function noImageError(source: Storage, objects: number): SourceError {
  const where = sourceName(source);
  const what = objects === 0 ? 'is empty' : `holds ${objects} file(s), none of them an image`;
  return new SourceError(`source ${where} ${what} (images end in .${IMAGE_EXTENSIONS.join(', .')})`);
}
