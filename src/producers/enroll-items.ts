import { personIdProblem } from '../gallery/person-id.js';
import path from 'node:path';
import { FaceError } from '../errors/face-error.js';
import { hasImageExtension } from '../files/image-files.js';
import { compareKeys } from '../storage/compare-keys.js';
import { InvalidStorageKeyError } from '../storage/invalid-storage-key-error.js';
import { listAll } from '../storage/list-all.js';
import type { Storage } from '../storage/storage.js';
import { forEachConcurrent } from '../util/for-each-concurrent.js';
import type { EnrollItem } from '../queue/jobs.js';
import type { EnrollListing, InvalidPersonKey, ManifestEntry, MissingKey, SkippedKey } from './types.js';

export interface ListEnrollItemsOptions {
  /** When given, the images and persons come from it instead of the folder layout. */
  manifest?: ManifestEntry[];
  /** Folder layout only: list below this key prefix ('' or ending in '/'); default ''. */
  prefix?: string;
  /** Manifest only: concurrent `head` calls (default 16). */
  headConcurrency?: number;
}

/**
 * The images to enroll from a source storage, ordered by key:
 * - folder layout: `<prefix><personId>/<image>`; files that are not images, files directly under the
 *   prefix and files deeper than one folder are reported in `skipped` with the reason;
 * - manifest: every entry's key is `head`ed for its etag and size; keys the source does not hold are
 *   returned in `missing` (the run summary records them as MISSING_FILE).
 */
export async function listEnrollItems(source: Storage, options: ListEnrollItemsOptions = {}): Promise<EnrollListing> {
  return options.manifest !== undefined
    ? fromManifest(source, options.manifest, options.headConcurrency ?? 16)
    : fromFolders(source, options.prefix ?? '');
}

async function fromFolders(source: Storage, prefix: string): Promise<EnrollListing> {
  if (prefix !== '' && !prefix.endsWith('/'))
    throw new Error(`source prefix must be '' or end with '/', got ${JSON.stringify(prefix)}`);
  const items: EnrollItem[] = [];
  const skipped: SkippedKey[] = [];
  const invalid: InvalidPersonKey[] = [];
  const refused = ({ key, code, reason }: { key: string; code: string; reason: string }) =>
    skipped.push({ key, code, reason });
  for await (const object of listAll(source, prefix, undefined, refused)) {
    const parts = object.key.slice(prefix.length).split('/');
    if (!hasImageExtension(object.key)) skipped.push(unsupported(object.key));
    else if (parts.length === 1)
      skipped.push({
        key: object.key,
        code: 'OUTSIDE_LAYOUT',
        reason: 'not in a person folder (expected <personId>/<image>)',
      });
    else if (parts.length > 2)
      skipped.push({
        key: object.key,
        code: 'OUTSIDE_LAYOUT',
        reason: 'nested deeper than one folder (expected <personId>/<image>)',
      });
    else {
      const problem = personIdProblem(parts[0]);
      if (problem !== undefined)
        invalid.push({ key: object.key, reason: `${object.key}: folder ${JSON.stringify(parts[0])}: ${problem}` });
      else items.push({ key: object.key, personId: parts[0], etag: object.etag, size: object.size });
    }
  }
  skipped.sort((a, b) => compareKeys(a.key, b.key));
  return { items, skipped, missing: [], invalid };
}

/** A file whose extension is not an image type facepipe reads. */
export function unsupported(key: string, where = ''): SkippedKey {
  return {
    key,
    code: 'UNSUPPORTED_TYPE',
    reason: `not an image type facepipe reads (${path.extname(key) || 'no extension'})${where}`,
  };
}

async function fromManifest(source: Storage, manifest: ManifestEntry[], concurrency: number): Promise<EnrollListing> {
  const items: EnrollItem[] = [];
  const missing: MissingKey[] = [];
  const skipped: SkippedKey[] = [];
  const invalid: InvalidPersonKey[] = [];
  await forEachConcurrent(manifest, concurrency, async (entry) => {
    if (entry.personIdProblem !== undefined) {
      invalid.push({
        key: entry.key,
        reason: `manifest line ${entry.line}: person id ${JSON.stringify(entry.personId.slice(0, 200))}: ${entry.personIdProblem}`,
      });
      return;
    }
    if (!hasImageExtension(entry.key)) {
      skipped.push(unsupported(entry.key, `, manifest line ${entry.line}`));
      return;
    }
    let object: Awaited<ReturnType<Storage['head']>>;
    try {
      object = await source.head(entry.key);
    } catch (err) {
      // A key the storage refuses ('..', absolute, a link): that line fails, the run goes on.
      if (err instanceof InvalidStorageKeyError)
        invalid.push({ key: entry.key, code: 'INVALID_KEY', reason: `manifest line ${entry.line}: ${err.message}` });
      else if (FaceError.isFaceError(err))
        invalid.push({ key: entry.key, code: err.code, reason: `manifest line ${entry.line}: ${err.message}` });
      else throw err;
      return;
    }
    if (object === null) {
      missing.push({ key: entry.key, personId: entry.personId, line: entry.line });
      return;
    }
    const item: EnrollItem = { key: entry.key, personId: entry.personId, etag: object.etag, size: object.size };
    if (entry.name !== undefined) item.name = entry.name;
    items.push(item);
  });
  items.sort((a, b) => compareKeys(a.key, b.key));
  missing.sort((a, b) => a.line - b.line);
  skipped.sort((a, b) => compareKeys(a.key, b.key));
  invalid.sort((a, b) => compareKeys(a.key, b.key));
  return { items, skipped, missing, invalid };
}
