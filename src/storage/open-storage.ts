import { fileURLToPath } from 'node:url';
import { FolderStorage, type FolderStorageOptions } from './folder-storage.js';
import { S3Storage, type S3StorageOptions } from './s3-storage.js';
import type { Storage } from './storage.js';
import { storageUrlScheme } from './storage-url.js';

/** Where storage lives when nothing else is configured: a folder in the working directory. */
export const DEFAULT_STORAGE_URL = './data';

/**
 * A source's storage (images to enroll or identify): as openStorage, but a folder does not follow
 * symbolic links unless `followSymlinks` (FACEPIPE_FOLLOW_SYMLINKS) says so.
 */
export function openSourceStorage(url: string, followSymlinks = false): Storage {
  return openStorage(url, { followSymlinks });
}

/**
 * The storage for a URL: `s3://bucket/prefix` -> S3Storage; `file:///path`, or a plain path
 * (relative to the working directory) -> FolderStorage.
 */
export function openStorage(
  url: string = DEFAULT_STORAGE_URL,
  options: S3StorageOptions & FolderStorageOptions = {},
): Storage {
  if (url === '') throw new Error('storage URL is empty');
  const scheme = storageUrlScheme(url);
  const { followSymlinks, ...s3 } = options;
  if (scheme === undefined) return new FolderStorage(url, { followSymlinks });
  if (scheme === 's3') return new S3Storage(url, s3);
  if (scheme === 'file') return new FolderStorage(fileURLToPath(url), { followSymlinks });
  throw new Error(
    `unsupported storage URL ${JSON.stringify(url)}: use s3://bucket/prefix, file:///path or a folder path`,
  );
}
