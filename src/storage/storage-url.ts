import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The lower-cased scheme of a storage URL ('s3', 'file', ...), or undefined for a plain folder path. */
export function storageUrlScheme(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
}

/**
 * A storage URL in one canonical form, so that './data' and file:///abs/data name the same storage:
 * plain paths become absolute file:// URLs; trailing '/' are dropped.
 */
export function canonicalStorageUrl(storage: string): string {
  const url = storageUrlScheme(storage) === undefined ? pathToFileURL(path.resolve(storage)).href : storage;
  return url.replace(/\/+$/, '');
}
