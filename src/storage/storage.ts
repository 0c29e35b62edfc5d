/**
 * Object storage as facepipe sees it: a flat namespace of '/'-separated relative keys
 * (e.g. `archive/emp-042/1.jpg`), backed by a local folder or an S3 bucket prefix.
 */

/** One stored object. */
export interface StorageObject {
  /** '/'-separated key relative to the storage root (the folder, or the S3 URL's prefix). */
  key: string;
  /** Size in bytes. */
  size: number;
  /**
   * Opaque change detector: two different versions of an object have different etags. S3 gives
   * its own ETag (the MD5 of the content for simple uploads); folders give `size-mtimeNs-inode`.
   * Compare etags only with etags from the same storage.
   */
  etag: string;
  /** Last modification time. */
  modified: Date;
}

export interface ListOptions {
  /** The `cursor` of the previous page; omit it for the first page. */
  cursor?: string;
  /** Most objects in one page (default 1000; S3 caps it at 1000). */
  limit?: number;
}

/** An entry a listing left out on purpose (a symbolic link a folder source does not follow). */
export interface RefusedObject {
  key: string;
  /** An error code of src/errors/error-codes.ts, e.g. SYMLINK_REFUSED. */
  code: string;
  reason: string;
}

export interface ListPage {
  /** Keys in lexicographic (UTF-8 byte) order. */
  items: StorageObject[];
  /** Entries under the prefix left out of `items`, and why (folder storage not following links). */
  refused?: RefusedObject[];
  /** Present when more objects follow: pass it back as `options.cursor`. */
  cursor?: string;
}

export interface PutOptions {
  contentType?: string;
}

/**
 * Storage of a folder or an S3 prefix. `get` of a missing key throws a `StorageNotFoundError`;
 * every other failure (unreachable, 5xx, timeouts, permissions) propagates as is, for the caller
 * to retry or report.
 */
export interface Storage {
  /** Where this storage points: `s3://bucket/prefix` or `file:///abs/path`. */
  readonly url: string;
  /** Objects whose key starts with `prefix` (a plain string prefix, as in S3), one page at a time. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  get(key: string): Promise<Uint8Array>;
  /** Writes the whole object at once: readers see the old content or the new one, never a part. */
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }>;
  /** The object's metadata, or null when it does not exist. */
  head(key: string): Promise<StorageObject | null>;
  /** Removes the object; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Removes what writers that died left under `prefix`: temp files older than `staleMs`, and empty
   * folders. Only storages that have such things implement it (a folder; S3 has neither).
   */
  sweep?(prefix: string, staleMs: number): Promise<number>;
}

export const DEFAULT_LIST_LIMIT = 1000;

/** The page size a `list` call asked for (default DEFAULT_LIST_LIMIT); shared so both storages refuse the same limits alike. */
export function listLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`list limit must be a positive integer, got ${limit}`);
  return limit;
}
