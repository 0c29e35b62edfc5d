import { fileURLToPath } from 'node:url';
import { FolderStorage } from './folder-storage.js';
import { S3Storage, type S3StorageOptions } from './s3-storage.js';
import type { Storage } from './storage.js';
import { storageUrlScheme } from './storage-url.js';

/** Where storage lives when nothing else is configured: a folder in the working directory. */
export const DEFAULT_STORAGE_URL = './data';

/**
 * The storage for a URL: `s3://bucket/prefix` -> S3Storage; `file:///path`, or a plain path
 * (relative to the working directory) -> FolderStorage.
 */
export function openStorage(url: string = DEFAULT_STORAGE_URL, options: S3StorageOptions = {}): Storage {
  if (url === '') throw new Error('storage URL is empty');
  const scheme = storageUrlScheme(url);
  if (scheme === undefined) return new FolderStorage(url);
  if (scheme === 's3') return new S3Storage(url, options);
  if (scheme === 'file') return new FolderStorage(fileURLToPath(url));
  throw new Error(
    `unsupported storage URL ${JSON.stringify(url)}: use s3://bucket/prefix, file:///path or a folder path`,
  );
}
